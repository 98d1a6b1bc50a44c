//! A thin element writer over quick-xml that refuses empty values.

use crate::error::{Error, Result};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use std::io::Write;

/// Element-level XML output with two-space indentation.
pub(crate) struct XmlOut<W: Write> {
    w: quick_xml::Writer<W>,
    /// Which record is being written, for error messages.
    pub(crate) record: String,
}

fn io(e: std::io::Error) -> Error {
    Error::Io {
        what: "writing XML to",
        path: "<output>".into(),
        source: e,
    }
}

impl<W: Write> XmlOut<W> {
    pub(crate) fn new(inner: W) -> Self {
        XmlOut {
            w: quick_xml::Writer::new_with_indent(inner, b' ', 2),
            record: String::new(),
        }
    }

    pub(crate) fn decl(&mut self) -> Result<()> {
        self.w
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
            .map_err(io)
    }

    /// Open the root element with the given attributes.
    pub(crate) fn root(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<()> {
        let mut s = BytesStart::new(name);
        for (k, v) in attrs {
            s.push_attribute((*k, *v));
        }
        self.w.write_event(Event::Start(s)).map_err(io)
    }

    pub(crate) fn start(&mut self, name: &str) -> Result<()> {
        self.w
            .write_event(Event::Start(BytesStart::new(name)))
            .map_err(io)
    }

    pub(crate) fn start_typed(&mut self, name: &str, xsi_type: &str) -> Result<()> {
        let mut s = BytesStart::new(name);
        s.push_attribute(("xsi:type", xsi_type));
        self.w.write_event(Event::Start(s)).map_err(io)
    }

    /// Open `name` with one attribute (ADDML `name="…"` and `dataType`).
    pub(crate) fn start_attrs(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<()> {
        let mut s = BytesStart::new(name);
        for (k, v) in attrs {
            s.push_attribute((*k, *v));
        }
        self.w.write_event(Event::Start(s)).map_err(io)
    }

    /// A self-closing element carrying only attributes. Noark 5 files never use this (no empty
    /// elements there); METS needs it for `FLocat`, `fptr` and `mdRef`.
    pub(crate) fn leaf_attrs(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<()> {
        let mut s = BytesStart::new(name);
        for (k, v) in attrs {
            s.push_attribute((*k, *v));
        }
        self.w.write_event(Event::Empty(s)).map_err(io)
    }

    pub(crate) fn end(&mut self, name: &str) -> Result<()> {
        self.w
            .write_event(Event::End(BytesEnd::new(name)))
            .map_err(io)
    }

    /// `<name>value</name>`; an empty or blank value is an error, never an empty element.
    pub(crate) fn text(&mut self, name: &str, value: &str) -> Result<()> {
        if value.trim().is_empty() {
            return Err(Error::invalid(
                self.record.clone(),
                name,
                "empty value: Noark 5 allows no empty elements; give a value (the field is mandatory here)",
            ));
        }
        self.start(name)?;
        self.w
            .write_event(Event::Text(BytesText::new(value)))
            .map_err(io)?;
        self.end(name)
    }

    /// `<name attrs…>value</name>`; an empty value is an error, as in [`Self::text`].
    pub(crate) fn text_attrs(
        &mut self,
        name: &str,
        attrs: &[(&str, &str)],
        value: &str,
    ) -> Result<()> {
        if value.trim().is_empty() {
            return Err(Error::invalid(self.record.clone(), name, "empty value"));
        }
        self.start_attrs(name, attrs)?;
        self.w
            .write_event(Event::Text(BytesText::new(value)))
            .map_err(io)?;
        self.end(name)
    }

    pub(crate) fn opt(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.text(name, v),
            None => Ok(()),
        }
    }

    pub(crate) fn each<S: AsRef<str>>(&mut self, name: &str, values: &[S]) -> Result<()> {
        for v in values {
            self.text(name, v.as_ref())?;
        }
        Ok(())
    }

    pub(crate) fn display(&mut self, name: &str, value: impl std::fmt::Display) -> Result<()> {
        self.text(name, &value.to_string())
    }

    pub(crate) fn opt_display<T: std::fmt::Display>(
        &mut self,
        name: &str,
        value: Option<T>,
    ) -> Result<()> {
        match value {
            Some(v) => self.display(name, v),
            None => Ok(()),
        }
    }

    /// Write a trailing newline and hand back the inner writer.
    pub(crate) fn finish(mut self) -> Result<W> {
        self.w.get_mut().write_all(b"\n").map_err(io)?;
        let mut inner = self.w.into_inner();
        inner.flush().map_err(io)?;
        Ok(inner)
    }
}

impl<W: Write> XmlOut<W> {
    /// Append pre-rendered, well-formed XML bytes.
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.w.get_mut().write_all(bytes).map_err(io)
    }
}
