//! The PDF renderer's cost: `cargo run --release --example pdfbench` (`-- N` for the
//! number of one-page invoices, 500 by default). Renders 1 000- and 6 000-row statements a
//! few times each, then one-page invoices one after another and a 200-line invoice, and
//! prints p50/p99 per kind, the first invoice render (fonts parsed, library built,
//! templates compiled) apart, and the process's peak RSS (`VmHWM`) after each kind: the
//! statements come first, so the figures after them are theirs alone. No database, no server: the renderer alone, as a `web::block` thread
//! runs it.

use std::time::{Duration, Instant};

use portal::documents::{invoice_pdf, samples, statement_pdf};

fn main() {
    let n: usize = std::env::args().nth(1).map(|arg| arg.parse().expect("N is a count")).unwrap_or(500);
    let one_page = samples::invoice(3);
    let long = samples::invoice(200);
    let statement = samples::statement(1000);
    let busy_month = samples::statement(6000);

    // Statements first, drawn with krilla: the peak RSS after them is theirs alone, before
    // Typst (the invoices) has built anything.
    report("1 000-row statement", 10, || statement_pdf(&statement).expect("renders").len());
    report("6 000-row statement", 5, || statement_pdf(&busy_month).expect("renders").len());

    let first = Instant::now();
    let bytes = invoice_pdf(&one_page).expect("renders");
    println!("first invoice render (Typst's statics built): {:.1} ms, {} bytes", ms(first.elapsed()), bytes.len());
    report("one-page invoice", n, || invoice_pdf(&one_page).expect("renders").len());
    report("200-line invoice", 20, || invoice_pdf(&long).expect("renders").len());
}

fn report(name: &str, runs: usize, mut render: impl FnMut() -> usize) {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        let start = Instant::now();
        size = render();
        times.push(start.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
    println!(
        "{name}: {runs} renders, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {size} bytes; peak RSS so far {}",
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(1.0)),
        peak_rss()
    );
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find(|line| line.starts_with("VmHWM:")).map(|line| line[6..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}
