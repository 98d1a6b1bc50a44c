//! Where the password comes from: --password-file / HVELV_PASSWORD_FILE, --password-command /
//! HVELV_PASSWORD_COMMAND, HVELV_PASSWORD, or a prompt on a terminal.

use std::io::IsTerminal;

use anyhow::{bail, Context, Result};
use zeroize::Zeroizing;

use crate::args::Global;

/// The password for an existing repository.
pub fn get(g: &Global) -> Result<Zeroizing<Vec<u8>>> {
    from_sources(
        g.password_file.as_deref(),
        g.password_command.as_deref(),
        "HVELV_PASSWORD",
        "repository password: ",
    )
    .map_err(|e| {
        if e.to_string().starts_with("no password given") {
            anyhow::anyhow!(
                "no password given: use --password-file, --password-command, or the environment \
                 variables HVELV_PASSWORD_FILE, HVELV_PASSWORD_COMMAND or HVELV_PASSWORD"
            )
        } else {
            e
        }
    })
}

/// A password from a file, a command, the environment variable `env`, or a prompt.
pub fn from_sources(
    file: Option<&std::path::Path>,
    command: Option<&str>,
    env: &str,
    prompt: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    if let Some(f) = file {
        let text = Zeroizing::new(
            std::fs::read(f)
                .with_context(|| format!("cannot read password file {}", f.display()))?,
        );
        return first_line(&text, &format!("password file {}", f.display()));
    }
    if let Some(cmd) = command {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stderr(std::process::Stdio::inherit())
            .output()
            .with_context(|| format!("cannot run password command {cmd:?}"))?;
        if !out.status.success() {
            bail!("password command {cmd:?} failed with {}", out.status);
        }
        let text = Zeroizing::new(out.stdout);
        return first_line(&text, "password command output");
    }
    if let Ok(p) = std::env::var(env) {
        if p.is_empty() {
            bail!("{env} is set but empty");
        }
        return Ok(Zeroizing::new(p.into_bytes()));
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password(prompt).context("reading the password")?;
        return Ok(Zeroizing::new(p.into_bytes()));
    }
    bail!("no password given for {}", prompt.trim_end_matches(": "))
}

/// A new password (init, key add): from the same sources, or asked twice on a terminal.
pub fn new(g: &Global) -> Result<Zeroizing<Vec<u8>>> {
    if g.password_file.is_some()
        || g.password_command.is_some()
        || std::env::var_os("HVELV_PASSWORD").is_some()
    {
        return get(g);
    }
    if !std::io::stdin().is_terminal() {
        return get(g);
    }
    let a = Zeroizing::new(rpassword::prompt_password("new repository password: ")?);
    let b = Zeroizing::new(rpassword::prompt_password("repeat the password: ")?);
    if a != b {
        bail!("the two passwords differ; nothing was changed");
    }
    if a.is_empty() {
        bail!("an empty password is not allowed");
    }
    Ok(Zeroizing::new(a.as_bytes().to_vec()))
}

fn first_line(text: &[u8], what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let line = text.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        bail!("{what} is empty");
    }
    Ok(Zeroizing::new(line.to_vec()))
}

/// Generate a secret for a generated key (no key derivation) and write it to `path`, readable
/// by the owner only. Refuses to overwrite: the file may be another repository's key.
pub fn write_generated(path: &std::path::Path) -> Result<Zeroizing<String>> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let secret = hvelv_engine::crypto::generate_secret()?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create the key file {} (hvelv never overwrites one: give a new path)",
                path.display()
            )
        })?;
    let written = f
        .write_all(format!("{}\n", &*secret).as_bytes())
        .and_then(|()| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(path);
        return Err(e).with_context(|| format!("writing the key file {}", path.display()));
    }
    Ok(secret)
}
