//! Noark 5 code lists (kodelister) as enums holding their exact Norwegian values.
//!
//! The v5.0 XSDs type these fields as free strings; the values come from the Metadatakatalog
//! (MDK, M-number in each enum's docs), which lists the values a system must support. Input
//! with any other value is rejected with [`Error::Invalid`] naming the allowed values, so an
//! extract never carries a code the depot will not recognise. Fields whose MDK list is only
//! "for example" (dokumenttype M083, klassifikasjonstype M086, tilgangsrestriksjon M500 beyond
//! its mandatory value) stay free strings in the model.

use crate::error::{Error, Result};

macro_rules! code_list {
    ($(#[$m:meta])* $name:ident, $field:literal, { $($(#[$vm:meta])* $var:ident => $val:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $var),+
        }

        impl $name {
            /// Every value of the list, in MDK order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The metadata element this list is for.
            pub const FIELD: &'static str = $field;

            /// The exact Norwegian value written to XML.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $val),+ }
            }

            /// Parse the exact value (case and spacing must match the MDK).
            pub fn parse(value: &str) -> Result<Self> {
                match value {
                    $($val => Ok($name::$var),)+
                    other => Err(Error::invalid(
                        "",
                        $field,
                        format!(
                            "unknown value {:?}; allowed: {}",
                            other,
                            [$($val),+].iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ")
                        ),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                $name::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).map_err(|e| match e {
                    Error::Invalid { message, .. } => serde::de::Error::custom(message),
                    other => serde::de::Error::custom(other),
                })
            }
        }
    };
}

code_list!(
    /// M050 arkivstatus.
    Arkivstatus, "arkivstatus", {
        /// «Opprettet».
        Opprettet => "Opprettet",
        /// «Avsluttet».
        Avsluttet => "Avsluttet",
    }
);

code_list!(
    /// M051 arkivdelstatus. A deposited arkivdel shall be «Avsluttet periode».
    Arkivdelstatus, "arkivdelstatus", {
        /// «Aktiv periode».
        AktivPeriode => "Aktiv periode",
        /// «Overlappingsperiode».
        Overlappingsperiode => "Overlappingsperiode",
        /// «Avsluttet periode».
        AvsluttetPeriode => "Avsluttet periode",
        /// «Uaktuelle mapper».
        UaktuelleMapper => "Uaktuelle mapper",
    }
);

code_list!(
    /// M300 dokumentmedium.
    Dokumentmedium, "dokumentmedium", {
        /// «Fysisk arkiv».
        Fysisk => "Fysisk arkiv",
        /// «Elektronisk arkiv».
        Elektronisk => "Elektronisk arkiv",
        /// «Blandet fysisk og elektronisk arkiv».
        Blandet => "Blandet fysisk og elektronisk arkiv",
    }
);

code_list!(
    /// M052 saksstatus. At deposit «Avsluttet» or «Utgår».
    Saksstatus, "saksstatus", {
        /// «Under behandling».
        UnderBehandling => "Under behandling",
        /// «Avsluttet».
        Avsluttet => "Avsluttet",
        /// «Utgår» (registered in error; metadata kept, files not).
        Utgaar => "Utgår",
    }
);

code_list!(
    /// M053 journalstatus. At deposit «Arkivert» or «Utgår».
    Journalstatus, "journalstatus", {
        /// «Journalført».
        Journalfoert => "Journalført",
        /// «Ekspedert».
        Ekspedert => "Ekspedert",
        /// «Arkivert».
        Arkivert => "Arkivert",
        /// «Utgår».
        Utgaar => "Utgår",
    }
);

code_list!(
    /// M054 dokumentstatus. At deposit «Dokumentet er ferdigstilt».
    Dokumentstatus, "dokumentstatus", {
        /// «Dokumentet er under redigering».
        UnderRedigering => "Dokumentet er under redigering",
        /// «Dokumentet er ferdigstilt».
        Ferdigstilt => "Dokumentet er ferdigstilt",
    }
);

code_list!(
    /// M082 journalposttype. Only the text, never the I/U/N/X codes.
    Journalposttype, "journalposttype", {
        /// «Inngående dokument».
        Inngaaende => "Inngående dokument",
        /// «Utgående dokument».
        Utgaaende => "Utgående dokument",
        /// «Organinternt dokument for oppfølging».
        OrganinterntForOppfoelging => "Organinternt dokument for oppfølging",
        /// «Organinternt dokument uten oppfølging».
        OrganinterntUtenOppfoelging => "Organinternt dokument uten oppfølging",
        /// «Saksframlegg».
        Saksframlegg => "Saksframlegg",
    }
);

code_list!(
    /// M087 korrespondanseparttype.
    Korrespondanseparttype, "korrespondanseparttype", {
        /// «Avsender».
        Avsender => "Avsender",
        /// «Mottaker».
        Mottaker => "Mottaker",
        /// «Kopimottaker».
        Kopimottaker => "Kopimottaker",
        /// «Gruppemottaker».
        Gruppemottaker => "Gruppemottaker",
        /// «Intern avsender».
        InternAvsender => "Intern avsender",
        /// «Intern mottaker».
        InternMottaker => "Intern mottaker",
    }
);

code_list!(
    /// M217 tilknyttetRegistreringSom.
    TilknyttetRegistreringSom, "tilknyttetRegistreringSom", {
        /// «Hoveddokument».
        Hoveddokument => "Hoveddokument",
        /// «Vedlegg».
        Vedlegg => "Vedlegg",
    }
);

code_list!(
    /// M700 variantformat. Only archive-format variants go into an extract.
    Variantformat, "variantformat", {
        /// «Produksjonsformat».
        Produksjonsformat => "Produksjonsformat",
        /// «Arkivformat».
        Arkivformat => "Arkivformat",
        /// «Dokument hvor deler av innholdet er skjermet».
        DelvisSkjermet => "Dokument hvor deler av innholdet er skjermet",
    }
);

code_list!(
    /// M450 kassasjonsvedtak.
    Kassasjonsvedtak, "kassasjonsvedtak", {
        /// «Bevares».
        Bevares => "Bevares",
        /// «Kasseres».
        Kasseres => "Kasseres",
        /// «Vurderes senere».
        VurderesSenere => "Vurderes senere",
    }
);

code_list!(
    /// M502 skjermingMetadata: which metadata elements are screened.
    SkjermingMetadata, "skjermingMetadata", {
        /// «Skjerming klasseID».
        KlasseId => "Skjerming klasseID",
        /// «Skjerming tittel klasse».
        TittelKlasse => "Skjerming tittel klasse",
        /// «Skjerming tittel mappe - unntatt første linje».
        TittelMappeUnntattFoersteLinje => "Skjerming tittel mappe - unntatt første linje",
        /// «Skjerming tittel mappe - utvalgte ord».
        TittelMappeUtvalgteOrd => "Skjerming tittel mappe - utvalgte ord",
        /// «Skjerming navn part i sak».
        NavnPart => "Skjerming navn part i sak",
        /// «Skjerming tittel registrering - unntatt første linje».
        TittelRegistreringUnntattFoersteLinje => "Skjerming tittel registrering - unntatt første linje",
        /// «Skjerming tittel registrering - utvalgte ord».
        TittelRegistreringUtvalgteOrd => "Skjerming tittel registrering - utvalgte ord",
        /// «Skjerming navn avsender».
        NavnAvsender => "Skjerming navn avsender",
        /// «Skjerming navn mottaker».
        NavnMottaker => "Skjerming navn mottaker",
        /// «Skjerming tittel dokumentbeskrivelse».
        TittelDokumentbeskrivelse => "Skjerming tittel dokumentbeskrivelse",
        /// «Skjerming merknadstekst».
        Merknadstekst => "Skjerming merknadstekst",
        /// «Midlertidig skjerming» (everything above is screened).
        Midlertidig => "Midlertidig skjerming",
    }
);

code_list!(
    /// M503 skjermingDokument.
    SkjermingDokument, "skjermingDokument", {
        /// «Skjerming av hele dokumentet».
        Hele => "Skjerming av hele dokumentet",
        /// «Skjerming av deler av dokumentet».
        Deler => "Skjerming av deler av dokumentet",
    }
);

code_list!(
    /// M506 grad (graderingskode).
    Grad, "grad", {
        /// «Strengt hemmelig (sikkerhetsgrad)».
        StrengtHemmelig => "Strengt hemmelig (sikkerhetsgrad)",
        /// «Hemmelig (sikkerhetsgrad)».
        Hemmelig => "Hemmelig (sikkerhetsgrad)",
        /// «Konfidensielt (sikkerhetsgrad)».
        Konfidensielt => "Konfidensielt (sikkerhetsgrad)",
        /// «Begrenset (sikkerhetsgrad)».
        Begrenset => "Begrenset (sikkerhetsgrad)",
        /// «Fortrolig (beskyttelsesgrad)».
        Fortrolig => "Fortrolig (beskyttelsesgrad)",
        /// «Strengt fortrolig (beskyttelsesgrad)».
        StrengtFortrolig => "Strengt fortrolig (beskyttelsesgrad)",
    }
);

code_list!(
    /// Periodisation at the start and end of the extract's period (ADDML `inngaaendeSkille` /
    /// `utgaaendeSkille`). Only the exact value `skarpt` counts as sharp in Arkade.
    Periodeskille, "periode", {
        /// `skarpt`: folders closed and recreated at the period boundary.
        Skarpt => "skarpt",
        /// `mykt`: open folders move to the successor arkivdel (overlapping period).
        Mykt => "mykt",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_value_and_rejects_codes() {
        for v in Journalposttype::ALL {
            assert_eq!(Journalposttype::parse(v.as_str()).unwrap(), *v);
        }
        let err = Journalposttype::parse("I").unwrap_err().to_string();
        assert!(err.contains("journalposttype"), "{err}");
        assert!(err.contains("\"Inngående dokument\""), "{err}");
        assert_eq!(Saksstatus::Utgaar.as_str(), "Utgår");
    }

    #[test]
    fn serde_uses_exact_values() {
        let v: Korrespondanseparttype = serde_json::from_str("\"Intern avsender\"").unwrap();
        assert_eq!(v, Korrespondanseparttype::InternAvsender);
        let e = serde_json::from_str::<Korrespondanseparttype>("\"avsender\"").unwrap_err();
        assert!(e.to_string().contains("allowed"), "{e}");
    }
}
