//! Identifying a document's format from its content.
//!
//! The extension of the source file is never trusted. A [`Sniffer`] is fed the bytes while the
//! file is copied and hashed (one pass), keeps the first bytes for magic numbers and scans the
//! whole stream for the XMP `pdfaid:part`/`pdfaid:conformance` marks that make a PDF a PDF/A.
//! [`Identified::is_archive_format`] follows riksarkivarens forskrift § 5-17 as Arkade reads it
//! (RAF-220301, see NOTES.md §E): PDF/A-1a/1b/2a/2b/2u, TIFF, plain text, XML, PNG and JPEG are
//! accepted; plain PDF, PDF/A-3 (only after application), office formats and unknown content
//! are not.

/// What a document is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocFormat {
    /// PDF/A with its part (1, 2, 3) and conformance level (a, b, u).
    PdfA {
        /// Part number.
        part: u8,
        /// Conformance level, lower case.
        conformance: char,
    },
    /// A PDF without PDF/A identification.
    Pdf,
    /// TIFF.
    Tiff,
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// XML 1.0.
    Xml,
    /// Plain text in UTF-8.
    Text,
    /// A ZIP container (also DOCX/XLSX/ODT).
    Zip,
    /// An OLE2 compound file (DOC/XLS of old).
    Ole2,
    /// Nothing recognised.
    Unknown,
}

/// The result of identification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// The format.
    pub format: DocFormat,
}

impl Identified {
    /// Whether the format may go into an extract.
    pub fn is_archive_format(&self) -> bool {
        match &self.format {
            DocFormat::PdfA { part, conformance } => {
                (*part == 1 && matches!(conformance, 'a' | 'b'))
                    || (*part == 2 && matches!(conformance, 'a' | 'b' | 'u'))
            }
            DocFormat::Tiff
            | DocFormat::Png
            | DocFormat::Jpeg
            | DocFormat::Xml
            | DocFormat::Text => true,
            DocFormat::Pdf | DocFormat::Zip | DocFormat::Ole2 | DocFormat::Unknown => false,
        }
    }

    /// The file extension used in the extract, which is also the `format` value (Arkade N5.29
    /// compares the two).
    pub fn extension(&self) -> &'static str {
        match &self.format {
            DocFormat::PdfA { .. } | DocFormat::Pdf => "pdf",
            DocFormat::Tiff => "tif",
            DocFormat::Png => "png",
            DocFormat::Jpeg => "jpg",
            DocFormat::Xml => "xml",
            DocFormat::Text => "txt",
            DocFormat::Zip => "zip",
            DocFormat::Ole2 => "ole2",
            DocFormat::Unknown => "bin",
        }
    }

    /// A human description with the PRONOM id, for `formatDetaljer`.
    pub fn details(&self) -> String {
        match &self.format {
            DocFormat::PdfA { part, conformance } => {
                let puid = match (part, conformance) {
                    (1, 'a') => "fmt/95",
                    (1, 'b') => "fmt/354",
                    (2, 'a') => "fmt/476",
                    (2, 'b') => "fmt/477",
                    (2, 'u') => "fmt/478",
                    (3, 'a') => "fmt/479",
                    (3, 'b') => "fmt/480",
                    (3, 'u') => "fmt/481",
                    _ => "unknown PUID",
                };
                format!("PDF/A-{part}{conformance} ({puid})")
            }
            DocFormat::Pdf => "PDF without PDF/A identification".into(),
            DocFormat::Tiff => "TIFF 6.0 (fmt/353)".into(),
            DocFormat::Png => "PNG (fmt/13)".into(),
            DocFormat::Jpeg => "JPEG (fmt/43)".into(),
            DocFormat::Xml => "XML 1.0 (fmt/101)".into(),
            DocFormat::Text => "Plain text, UTF-8 (x-fmt/111)".into(),
            DocFormat::Zip => "ZIP container (office document or archive)".into(),
            DocFormat::Ole2 => "OLE2 compound file (old office document)".into(),
            DocFormat::Unknown => "unrecognised content".into(),
        }
    }
}

const HEAD: usize = 8192;
const OVERLAP: usize = 64;

/// Incremental identification over a byte stream.
#[derive(Debug, Default)]
pub struct Sniffer {
    head: Vec<u8>,
    tail: Vec<u8>,
    part: Option<u8>,
    conformance: Option<char>,
    utf8_ok: bool,
    utf8_carry: Vec<u8>,
    control_chars: bool,
    started: bool,
}

impl Sniffer {
    /// A new sniffer.
    pub fn new() -> Self {
        Sniffer {
            utf8_ok: true,
            ..Default::default()
        }
    }

    /// Feed the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.started = true;
        if self.head.len() < HEAD {
            let n = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..n]);
        }
        // Text check: valid UTF-8 across chunk boundaries, no control characters but tab/CR/LF/FF.
        if self.utf8_ok {
            let mut buf = std::mem::take(&mut self.utf8_carry);
            buf.extend_from_slice(chunk);
            match std::str::from_utf8(&buf) {
                Ok(_) => {}
                Err(e) if e.error_len().is_none() => {
                    self.utf8_carry = buf[e.valid_up_to()..].to_vec();
                }
                Err(_) => self.utf8_ok = false,
            }
            if chunk
                .iter()
                .any(|b| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
            {
                self.control_chars = true;
            }
        }
        // XMP scan with an overlap so marks split across chunks are found.
        let mut window = std::mem::take(&mut self.tail);
        window.extend_from_slice(chunk);
        self.scan_xmp(&window);
        let keep = window.len().min(OVERLAP);
        self.tail = window[window.len() - keep..].to_vec();
    }

    fn scan_xmp(&mut self, w: &[u8]) {
        if self.part.is_none() {
            self.part = find_value(w, b"pdfaid:part")
                .and_then(|c| c.to_digit(10))
                .map(|d| d as u8);
        }
        if self.conformance.is_none() {
            self.conformance = find_value(w, b"pdfaid:conformance").map(|c| c.to_ascii_lowercase());
        }
    }

    /// The identification after the last chunk.
    pub fn finish(self) -> Identified {
        let h = &self.head;
        let format = if h.starts_with(b"%PDF-") {
            match (self.part, self.conformance) {
                (Some(part), Some(conformance)) => DocFormat::PdfA { part, conformance },
                _ => DocFormat::Pdf,
            }
        } else if h.starts_with(b"II*\0") || h.starts_with(b"MM\0*") {
            DocFormat::Tiff
        } else if h.starts_with(b"\x89PNG\r\n\x1a\n") {
            DocFormat::Png
        } else if h.starts_with(&[0xff, 0xd8, 0xff]) {
            DocFormat::Jpeg
        } else if h.starts_with(b"PK\x03\x04") {
            DocFormat::Zip
        } else if h.starts_with(&[0xd0, 0xcf, 0x11, 0xe0]) {
            DocFormat::Ole2
        } else if self.utf8_ok && self.utf8_carry.is_empty() && !self.control_chars && self.started
        {
            let text = h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h);
            let trimmed: &[u8] = {
                let start = text
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(text.len());
                &text[start..]
            };
            if trimmed.starts_with(b"<?xml") {
                DocFormat::Xml
            } else {
                DocFormat::Text
            }
        } else {
            DocFormat::Unknown
        };
        Identified { format }
    }
}

/// Find `key` followed by `="X"` or `>X` and return X's first character.
fn find_value(w: &[u8], key: &[u8]) -> Option<char> {
    let mut from = 0;
    while let Some(pos) = w[from..].windows(key.len()).position(|x| x == key) {
        let after = from + pos + key.len();
        let rest = &w[after..];
        let skip = rest
            .iter()
            .take_while(|b| matches!(b, b'=' | b'"' | b'\'' | b'>' | b' '))
            .count();
        if skip > 0 {
            if let Some(c) = rest.get(skip) {
                if c.is_ascii_alphanumeric() {
                    return Some(*c as char);
                }
            }
        }
        from = after;
    }
    None
}

/// Identify a whole in-memory buffer.
pub fn identify(bytes: &[u8]) -> Identified {
    let mut s = Sniffer::new();
    s.update(bytes);
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdfa(xmp: &str) -> Vec<u8> {
        format!("%PDF-1.4\n1 0 obj\n<< /Type /Metadata >>\nstream\n{xmp}\nendstream\n%%EOF\n")
            .into_bytes()
    }

    #[test]
    fn pdfa_from_xmp_attribute_and_element_forms() {
        let a = identify(&pdfa(
            r#"<rdf:Description pdfaid:part="1" pdfaid:conformance="B"/>"#,
        ));
        assert_eq!(
            a.format,
            DocFormat::PdfA {
                part: 1,
                conformance: 'b'
            }
        );
        assert!(a.is_archive_format());
        assert_eq!(a.details(), "PDF/A-1b (fmt/354)");
        let b = identify(&pdfa(
            "<pdfaid:part>2</pdfaid:part><pdfaid:conformance>U</pdfaid:conformance>",
        ));
        assert_eq!(
            b.format,
            DocFormat::PdfA {
                part: 2,
                conformance: 'u'
            }
        );
        let c = identify(&pdfa(
            "<pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>",
        ));
        assert!(!c.is_archive_format(), "PDF/A-3 only after application");
        let plain = identify(b"%PDF-1.7\n%%EOF\n");
        assert_eq!(plain.format, DocFormat::Pdf);
        assert!(!plain.is_archive_format());
    }

    #[test]
    fn marks_split_across_chunks_are_found() {
        let bytes = pdfa(r#"<x pdfaid:part="2" pdfaid:conformance="B"/>"#);
        let split = bytes.windows(11).position(|w| w == b"pdfaid:part").unwrap() + 4;
        let mut s = Sniffer::new();
        s.update(&bytes[..split]);
        s.update(&bytes[split..]);
        assert_eq!(
            s.finish().format,
            DocFormat::PdfA {
                part: 2,
                conformance: 'b'
            }
        );
    }

    #[test]
    fn other_formats() {
        assert_eq!(identify(b"II*\0rest").format, DocFormat::Tiff);
        assert_eq!(
            identify(b"Hei, dette er tekst.\r\n").format,
            DocFormat::Text
        );
        assert_eq!(
            identify("\u{feff}<?xml version=\"1.0\"?><a/>".as_bytes()).format,
            DocFormat::Xml
        );
        assert_eq!(identify(b"PK\x03\x04....").format, DocFormat::Zip);
        assert_eq!(identify(&[0u8, 1, 2, 3]).format, DocFormat::Unknown);
        let utf8 = "blåbærsyltetøy".as_bytes();
        let mut s = Sniffer::new();
        s.update(&utf8[..3]);
        s.update(&utf8[3..]);
        assert_eq!(s.finish().format, DocFormat::Text);
    }
}
