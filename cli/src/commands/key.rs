//! `hvelv key ...`

use anyhow::{Context, Result};
use hvelv_engine::crypto::KdfParams;

use crate::args::{Global, KeyCommand};

pub async fn run(g: &Global, k: KeyCommand) -> Result<i32> {
    match k {
        KeyCommand::Add { new_password_file } => {
            let repo = super::open(g).await?;
            let pw = match new_password_file {
                Some(f) => {
                    let g2 = Global {
                        password_file: Some(f),
                        password_command: None,
                        ..g.clone()
                    };
                    crate::password::get(&g2)?
                }
                None => {
                    let g2 = Global {
                        password_file: None,
                        password_command: None,
                        ..g.clone()
                    };
                    crate::password::new(&g2).context("reading the new password")?
                }
            };
            let id = repo.add_key(&pw, KdfParams::DEFAULT).await?;
            if g.json {
                super::print_json(&serde_json::json!({ "key": id.to_hex() }))?;
            } else {
                println!("added key {}", id.short());
            }
            Ok(crate::exit::OK)
        }
    }
}
