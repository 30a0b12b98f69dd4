//! PDFs of tax invoices, credit notes (VAT Act s20, s21) and monthly statements.
//!
//! Tax documents are laid out by Typst used as a library. The document becomes JSON of
//! display-ready strings (money through `format_zar`, times in South African time) that
//! the template reads as data, so nothing a customer typed is ever parsed as Typst markup
//! or code. Statements, which can run to thousands of rows, are drawn directly with
//! krilla (`statement.rs`): Typst's table cost too much time and memory a row.
//!
//! Rendering is CPU-bound (milliseconds to hundreds of them): call it from `web::block`.

mod statement;
mod world;

use serde::Serialize;

use crate::domain::documents::{DocumentLine, Party, TaxDocument};
use crate::domain::money::{format_plain, format_zar};
use crate::domain::time::format_sast;
pub use statement::statement_pdf;

/// DejaVu Sans (Bitstream Vera licence, `templates/pdf/fonts/LICENSE-DejaVu.txt`):
/// open, covers every Latin script a South African name needs, and ships in Debian.
const DEJAVU_SANS: &[u8] = include_bytes!("../../templates/pdf/fonts/DejaVuSans.ttf");
const DEJAVU_SANS_BOLD: &[u8] = include_bytes!("../../templates/pdf/fonts/DejaVuSans-Bold.ttf");

/// Why a PDF could not be made. Each means a bug in a template, in Typst or in the
/// statement's drawing, not bad data: every string is printed as text.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the document data could not be encoded: {0}")]
    Data(#[from] serde_json::Error),
    #[error("the PDF template failed: {0}")]
    Layout(String),
    #[error("the PDF could not be written: {0}")]
    Export(String),
}

/// A tax invoice or credit note as a PDF.
pub fn invoice_pdf(doc: &TaxDocument) -> Result<Vec<u8>, PdfError> {
    world::render(serde_json::to_vec(&InvoiceData::from(doc))?)
}

/// A party as printed: empty fields are left out, never printed as blanks.
#[derive(Serialize)]
struct PartyData<'a> {
    name: &'a str,
    /// One entry a line, as typed.
    address: Vec<&'a str>,
    vat_number: Option<&'a str>,
    registration_number: Option<&'a str>,
}

impl<'a> PartyData<'a> {
    fn full(party: &'a Party) -> Self {
        Self {
            name: party.name.trim(),
            address: party.address.lines().map(str::trim).filter(|line| !line.is_empty()).collect(),
            vat_number: present(party.vat_number.as_deref()),
            registration_number: present(party.registration_number.as_deref()),
        }
    }

    /// An abridged tax invoice (s20(5)) needs none of the recipient's details; the name
    /// stays when there is one, so the customer recognises the document.
    fn name_only(party: &'a Party) -> Self {
        Self { name: party.name.trim(), address: Vec::new(), vat_number: None, registration_number: None }
    }
}

fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

#[derive(Serialize)]
struct LineData<'a> {
    description: &'a str,
    quantity: String,
    unit_price: String,
    amount: String,
    vat: String,
}

impl<'a> From<&'a DocumentLine> for LineData<'a> {
    fn from(line: &'a DocumentLine) -> Self {
        Self {
            description: &line.description,
            quantity: format_plain(line.quantity),
            unit_price: format_zar(line.unit_price),
            amount: format_zar(line.amount),
            vat: format_zar(line.vat),
        }
    }
}

#[derive(Serialize)]
struct OriginalData<'a> {
    number: &'a str,
    issued_at: String,
}

#[derive(Serialize)]
struct InvoiceData<'a> {
    title: &'static str,
    number: &'a str,
    issued_at: String,
    issued_late: bool,
    abridged: bool,
    supplier: PartyData<'a>,
    recipient: PartyData<'a>,
    reference: &'a str,
    vat_rate: String,
    lines: Vec<LineData<'a>>,
    subtotal: String,
    vat: String,
    total: String,
    original: Option<OriginalData<'a>>,
    reason: Option<&'a str>,
}

impl<'a> From<&'a TaxDocument> for InvoiceData<'a> {
    fn from(doc: &'a TaxDocument) -> Self {
        let abridged = doc.abridged();
        Self {
            title: doc.title(),
            number: &doc.number,
            issued_at: format_sast(doc.issued_at),
            issued_late: doc.issued_late,
            abridged,
            supplier: PartyData::full(&doc.supplier),
            recipient: if abridged { PartyData::name_only(&doc.recipient) } else { PartyData::full(&doc.recipient) },
            reference: &doc.reference,
            vat_rate: format_plain(doc.vat_rate),
            lines: doc.lines.iter().map(LineData::from).collect(),
            subtotal: format_zar(doc.subtotal),
            vat: format_zar(doc.vat),
            total: format_zar(doc.total),
            original: doc
                .original
                .as_ref()
                .map(|original| OriginalData { number: &original.number, issued_at: format_sast(original.issued_at) }),
            reason: present(doc.reason.as_deref()),
        }
    }
}

/// Sample documents for the tests and `examples/pdfbench.rs`: realistic sizes, no
/// database needed.
pub mod samples {
    use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
    use rust_decimal::Decimal;

    use crate::domain::documents::{DocumentLine, Party, Statement, StatementRow, TaxDocument, spread_vat};
    use crate::domain::states::InvoiceKind;

    fn issued() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 5, 0).single().expect("a valid time")
    }

    pub fn supplier() -> Party {
        Party {
            name: "Cloud Reseller (Pty) Ltd".into(),
            address: "1 Loop Street\nCape Town\n8001".into(),
            vat_number: Some("4123456789".into()),
            registration_number: Some("2015/123456/07".into()),
        }
    }

    pub fn recipient() -> Party {
        Party {
            name: "Acme Logistics CC".into(),
            address: "12 Main Road\nSandton\n2196".into(),
            vat_number: Some("4987654321".into()),
            registration_number: None,
        }
    }

    /// A tax invoice of `lines` lines of R 1 234.50 excl. VAT each, at 15 %.
    pub fn invoice(lines: usize) -> TaxDocument {
        let unit = Decimal::new(123_450, 2);
        let amounts = vec![unit; lines];
        let subtotal: Decimal = amounts.iter().sum();
        let vat = crate::domain::money::round_cents(subtotal * Decimal::new(15, 2));
        let vats = spread_vat(&amounts, vat);
        TaxDocument {
            kind: InvoiceKind::TaxInvoice,
            number: "INV-000042".into(),
            issued_at: issued(),
            issued_late: false,
            supplier: supplier(),
            recipient: recipient(),
            vat_rate: Decimal::new(15, 0),
            lines: amounts
                .iter()
                .zip(vats)
                .enumerate()
                .map(|(i, (amount, vat))| DocumentLine {
                    description: format!("Managed VM {} (4 vCPU, 16 GB RAM, 200 GB NVMe), monthly", i + 1),
                    quantity: Decimal::ONE,
                    unit_price: *amount,
                    amount: *amount,
                    vat,
                })
                .collect(),
            subtotal,
            vat,
            total: subtotal + vat,
            original: None,
            reason: None,
            reference: "Q-2026-000017".into(),
        }
    }

    /// A statement of `rows` ledger rows in November 2026.
    pub fn statement(rows: usize) -> Statement {
        let start = Utc.with_ymd_and_hms(2026, 10, 31, 22, 0, 0).single().expect("a valid time");
        let opening = Decimal::new(5_000_000, 2);
        let mut balance = opening;
        let rows = (0..rows)
            .map(|i| {
                let top_up = i % 10 == 0;
                let amount = if top_up { Decimal::new(1_000_000, 2) } else { Decimal::new(-87_550, 2) };
                balance += amount;
                StatementRow {
                    at: start + Duration::minutes(i as i64 * 40),
                    description: if top_up {
                        "Wallet top-up (EFT)".into()
                    } else {
                        format!("Quote Q-2026-{i:06} accepted")
                    },
                    document: (!top_up).then(|| format!("INV-{:06}", 1000 + i)),
                    amount,
                    balance_after: balance,
                }
            })
            .collect();
        Statement {
            supplier: supplier(),
            recipient: recipient(),
            month: NaiveDate::from_ymd_opt(2026, 11, 1).expect("a valid date"),
            opening_balance: opening,
            rows,
            closing_balance: balance,
            committed_monthly: Decimal::new(1_250_000, 2),
            generated_at: issued(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::documents::Original;
    use crate::domain::states::InvoiceKind;
    use chrono::{TimeZone, Utc};
    use rust_decimal_macros::dec;

    /// The text a PDF reader would copy out of each page, spaces collapsed (extraction
    /// inserts its own between positioned runs). `PDF_DUMP_DIR=/tmp cargo test --lib
    /// documents` also writes each PDF there, to look at.
    fn pages(name: &str, pdf: &[u8]) -> Vec<String> {
        assert!(pdf.starts_with(b"%PDF"), "not a PDF");
        if let Some(dir) = std::env::var_os("PDF_DUMP_DIR") {
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.pdf")), pdf)
                .expect("PDF_DUMP_DIR is writable");
        }
        pdf_extract::extract_text_from_mem_by_pages(pdf)
            .expect("the PDF's text can be read back")
            .iter()
            .map(|page| page.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    fn text(name: &str, pdf: &[u8]) -> String {
        pages(name, pdf).join(" ")
    }

    #[test]
    fn a_tax_invoice_shows_what_s20_asks() {
        let doc = samples::invoice(4);
        assert!(!doc.abridged());
        let text = text("tax_invoice", &invoice_pdf(&doc).expect("renders"));
        for expected in [
            "Tax Invoice",
            "INV-000042",
            "Date of issue: 2026-11-24 14:05",
            "Cloud Reseller (Pty) Ltd",
            "1 Loop Street",
            "Registration number: 2015/123456/07",
            "VAT number: 4123456789",
            "Acme Logistics CC",
            "12 Main Road",
            "VAT number: 4987654321",
            "Subtotal excl. VAT R 4 938.00",
            "VAT at 15% R 740.70",
            "Total R 5 678.70",
            "Page 1 of 1",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from {text}");
        }
        assert!(!text.contains("Issued late"), "{text}");
        assert!(!text.contains("Credits tax invoice"), "{text}");
    }

    #[test]
    fn an_abridged_invoice_keeps_the_recipients_name_only() {
        let mut doc = samples::invoice(1);
        doc.issued_late = true;
        assert!(doc.abridged());
        let text = text("abridged", &invoice_pdf(&doc).expect("renders"));
        assert!(text.contains("Acme Logistics CC"), "{text}");
        assert!(!text.contains("12 Main Road") && !text.contains("4987654321"), "{text}");
        assert!(text.contains("Issued late"), "{text}");
    }

    #[test]
    fn a_credit_note_names_the_invoice_it_corrects() {
        let mut doc = samples::invoice(1);
        doc.kind = InvoiceKind::CreditNote;
        doc.number = "INV-000050".into();
        doc.original = Some(Original {
            number: "INV-000042".into(),
            issued_at: Utc.with_ymd_and_hms(2026, 11, 2, 7, 30, 0).single().expect("a valid time"),
        });
        doc.reason = Some("Refund: quote cancelled before provisioning".into());
        let text = text("credit_note", &invoice_pdf(&doc).expect("renders"));
        assert!(text.contains("Credit Note") && !text.contains("Tax Invoice"), "{text}");
        assert!(text.contains("INV-000050"), "{text}");
        assert!(text.contains("Credits tax invoice INV-000042 issued 2026-11-02 09:30"), "{text}");
        assert!(text.contains("Reason: Refund: quote cancelled before provisioning"), "{text}");
    }

    #[test]
    fn a_long_invoice_repeats_the_table_header_on_every_page() {
        let mut doc = samples::invoice(200);
        // The note pushes the table down so that the totals fall past the last row's
        // page: they move whole, under the repeated header, not split from their labels.
        doc.issued_late = true;
        let pages = pages("long_invoice", &invoice_pdf(&doc).expect("renders"));
        assert!(pages.len() >= 3, "200 lines on {} pages", pages.len());
        for (i, page) in pages.iter().enumerate() {
            assert_eq!(page.matches("Unit price excl. VAT").count(), 1, "page {}: {page}", i + 1);
            assert!(page.contains(&format!("Page {} of {}", i + 1, pages.len())), "page {}: {page}", i + 1);
        }
        assert!(pages.join(" ").contains("Managed VM 200 "), "the last line is printed");
        let last = pages.last().expect("pages");
        assert!(last.contains(&format!("Total {}", format_zar(doc.total))), "{last}");
    }

    #[test]
    fn customer_text_is_printed_never_run() {
        let mut doc = samples::invoice(1);
        doc.total = dec!(6000);
        doc.recipient.name = r##"#panic("recipient") "] } ) \ $x$ *bold* <l> @ref"##.into();
        doc.recipient.address = "#set page(width: 1cm)\n// not a comment".into();
        doc.lines[0].description = "\"]; #panic() ]] #{ 1 + 1 }".into();
        doc.reference = "#import \"/etc/passwd\"".into();
        let text = text("hostile", &invoice_pdf(&doc).expect("hostile text renders as text"));
        for expected in [
            r##"#panic("recipient") "] } ) \ $x$ *bold* <l> @ref"##,
            "#set page(width: 1cm)",
            "// not a comment",
            "\"]; #panic() ]] #{ 1 + 1 }",
            "#import \"/etc/passwd\"",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from {text}");
        }
    }

    #[test]
    fn a_statement_lists_every_row_between_its_balances() {
        let st = samples::statement(60);
        let pages = pages("statement", &statement_pdf(&st).expect("renders"));
        assert!(pages.len() >= 2, "60 rows on {} pages", pages.len());
        for page in &pages {
            assert_eq!(page.matches("Balance").count(), 1, "{page}");
        }
        let text = pages.join(" ");
        for expected in [
            "Statement",
            "November 2026",
            "Acme Logistics CC",
            "Opening balance R 50 000.00",
            "2026-11-01 00:00 Wallet top-up (EFT) R 10 000.00 R 60 000.00",
            "Quote Q-2026-000001 accepted INV-001001 R 875.50 R 59 124.50",
            &format!("Closing balance {}", format_zar(st.closing_balance)),
            "Committed monthly spend (VAT incl.) R 12 500.00",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from {text}");
        }
        assert_eq!(text.matches("INV-0").count(), 54, "every document number once");
    }

    #[test]
    fn every_row_and_the_totals_land_on_a_page_whatever_the_count() {
        let mut totals_alone = false;
        for count in 30..=100 {
            let st = samples::statement(count);
            let pages = pages(&format!("statement_{count}"), &statement_pdf(&st).expect("renders"));
            for (i, page) in pages.iter().enumerate() {
                assert_eq!(page.matches("Balance").count(), 1, "{count} rows, page {}: {page}", i + 1);
                assert!(page.contains(&format!("Page {} of {}", i + 1, pages.len())), "{count} rows: {page}");
            }
            let last = pages.last().expect("a page");
            assert!(last.contains(&format!("Closing balance {}", format_zar(st.closing_balance))), "{last}");
            totals_alone |= !last.contains("2026-11-0");
            let text = pages.join(" ");
            assert_eq!(text.matches("2026-11-0").count(), count, "{count} rows: every row once");
        }
        assert!(totals_alone, "some count leaves the totals a page of their own, under the header");
    }

    #[test]
    fn a_long_description_wraps_and_loses_nothing() {
        let mut st = samples::statement(3);
        let word = "Z".repeat(150);
        st.rows[1].description =
            format!("Adjustment: {} {word} Zoë Ndlovu-Smith — café “refund” end", "word ".repeat(60));
        // One description taller than a page continues on the next.
        st.rows[2].description = "line ".repeat(12_000);
        let pages = pages("long_description", &statement_pdf(&st).expect("renders"));
        assert!(pages.len() >= 3, "a description taller than a page takes {} pages", pages.len());
        let text: String = pages.join(" ").split_whitespace().collect();
        assert!(text.contains(&format!("{}{word}ZoëNdlovu-Smith—café“refund”end", "word".repeat(60))), "{text}");
        assert_eq!(text.matches("line").count(), 12_000, "every word of the tallest description");
    }

    #[test]
    fn an_empty_month_still_states_both_balances() {
        let mut st = samples::statement(0);
        st.closing_balance = st.opening_balance;
        let pages = pages("empty_statement", &statement_pdf(&st).expect("renders"));
        assert_eq!(pages.len(), 1);
        for expected in ["Opening balance R 50 000.00", "Closing balance R 50 000.00", "Page 1 of 1"] {
            assert!(pages[0].contains(expected), "{expected:?} missing from {}", pages[0]);
        }
    }
}
