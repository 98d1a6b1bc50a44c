//! Writer for endringslogg.xml.

use super::{XmlOut, NS_ENDRINGSLOGG};
use crate::error::{Error, Result};
use crate::model::Endring;
use crate::time::fmt_datetime;
use std::io::Write;

/// Streaming endringslogg writer. The XSD needs at least one `endring`.
pub struct EndringsloggWriter<W: Write> {
    out: XmlOut<W>,
    count: u64,
}

impl<W: Write> EndringsloggWriter<W> {
    /// Start the file.
    pub fn new(inner: W) -> Result<Self> {
        let mut out = XmlOut::new(inner);
        out.decl()?;
        out.root("endringslogg", &[("xmlns", NS_ENDRINGSLOGG)])?;
        Ok(EndringsloggWriter { out, count: 0 })
    }

    /// Write one entry.
    pub fn write(&mut self, e: &Endring) -> Result<()> {
        self.out.record = format!("endring {} of {}", self.count + 1, e.referanse_arkivenhet);
        let o = &mut self.out;
        o.start("endring")?;
        o.display("referanseArkivenhet", e.referanse_arkivenhet)?;
        o.text("referanseMetadata", &e.referanse_metadata)?;
        o.text("endretDato", &fmt_datetime(&e.endret_dato))?;
        o.text("endretAv", &e.endret_av)?;
        o.text("tidligereVerdi", &e.tidligere_verdi)?;
        o.text("nyVerdi", &e.ny_verdi)?;
        o.end("endring")?;
        self.count += 1;
        Ok(())
    }

    /// Number of entries written.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Close the file.
    pub fn finish(mut self) -> Result<W> {
        if self.count == 0 {
            return Err(Error::Order(
                "endringslogg.xml needs at least one endring; leave the file out instead".into(),
            ));
        }
        self.out.end("endringslogg")?;
        self.out.finish()
    }
}
