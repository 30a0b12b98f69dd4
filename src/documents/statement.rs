//! The month's statement as a PDF, drawn directly with krilla, the PDF writer under
//! typst-pdf. A statement holds every ledger row of a month, thousands for a busy
//! organisation; laid out by Typst each row cost 0.3–0.4 ms and about 150 KB, so 6 000
//! rows took 2.6 s and 730 MB (BENCHMARKS.md, 4 December). Its layout never varies: six
//! columns as wide as their contents, a description that wraps, the table's header on
//! every page and the totals kept together after the last row. So it is laid out here in
//! two passes, measured and paginated first (every footer says "Page x of y"), then
//! drawn. Text is placed glyph by glyph from the font's own advances (shaped and put in
//! visual order first when a script needs it: `Face::glyphs`), and every piece is
//! tagged (title, parties, table header, rows and cells, totals), so screen readers and
//! copy-paste read the statement in order.

use std::num::NonZeroU16;
use std::ops::Range;
use std::sync::{Arc, LazyLock};

use krilla::Document;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{ArtifactType, ContentTag, SpanTag, TableHeaderScope, Tag, TagGroup, TagTree};
use krilla::text::{Font, GlyphId, KrillaGlyph};

use super::{DEJAVU_SANS, DEJAVU_SANS_BOLD, PartyData, PdfError};
use crate::domain::documents::{Statement, StatementRow};
use crate::domain::money::format_zar;
use crate::domain::time::format_sast;

/// A4 in points, with the margins the Typst documents use (18 mm, 16 mm top, 20 mm bottom).
const WIDTH: f32 = 595.2756;
const HEIGHT: f32 = 841.8898;
const MM: f32 = 72.0 / 25.4;
const LEFT: f32 = 18.0 * MM;
const RIGHT: f32 = WIDTH - 18.0 * MM;
const TOP: f32 = 16.0 * MM;
const BOTTOM: f32 = HEIGHT - 20.0 * MM;
/// Where the page footer's baseline sits, inside the bottom margin.
const FOOTER_BASELINE: f32 = HEIGHT - 9.0 * MM;
/// A table cell's padding on every side.
const INSET: f32 = 4.0;
/// The space between lines: 0.65 em of body text, from one baseline to the next line's
/// capital height, as Typst sets paragraphs.
const LEADING: f32 = 0.65 * BODY.size;
/// Between the first page's blocks: the title, the parties, the opening balance, the table.
const BLOCK_GAP: f32 = 14.0;
/// The gap between the opening balance's label and its amount.
const GUTTER: f32 = 12.0;

/// A font, its size and its grey (0 black, 255 white).
#[derive(Clone, Copy)]
struct Style {
    bold: bool,
    size: f32,
    grey: u8,
}

const BODY: Style = Style { bold: false, size: 9.0, grey: 0 };
const STRONG: Style = Style { bold: true, ..BODY };
const TITLE: Style = Style { bold: true, size: 22.0, grey: 0 };
const MONTH: Style = Style { bold: true, size: 12.0, grey: 0 };
const LABEL: Style = Style { bold: true, size: 7.5, grey: 90 };
const FOOTER: Style = Style { bold: false, size: 8.0, grey: 90 };
/// Rules: under the table's header, and (lighter) under every row.
const HEADER_RULE: (f32, u8) = (0.7, 0);
const ROW_RULE: (f32, u8) = (0.3, 200);

/// The table's columns: date, description, document, money in, money out, balance.
const COLUMNS: usize = 6;
const HEADINGS: [&str; COLUMNS] = ["Date", "Description", "Document", "In", "Out", "Balance"];
const DESCRIPTION: usize = 1;
/// Columns 3 to 5 hold money, right-aligned.
const FIRST_MONEY: usize = 3;

/// DejaVu Sans as krilla embeds it and as rustybuzz measures and shapes it, parsed once a
/// process.
struct Face {
    font: Font,
    shaper: rustybuzz::Face<'static>,
    units_per_em: f32,
    /// The height of a capital letter, in ems: where Typst puts the top of a line.
    cap_height: f32,
}

static REGULAR: LazyLock<Face> = LazyLock::new(|| Face::new(DEJAVU_SANS));
static BOLD: LazyLock<Face> = LazyLock::new(|| Face::new(DEJAVU_SANS_BOLD));

impl Face {
    fn new(data: &'static [u8]) -> Self {
        let shaper = rustybuzz::Face::from_slice(data, 0).expect("DejaVu Sans is a valid font");
        let shared: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(data);
        let font = Font::new(shared.into(), 0).expect("krilla reads DejaVu Sans");
        let units_per_em = shaper.units_per_em() as f32;
        // DejaVu's OS/2 table is too old to state it: the top of an H.
        let cap_height = shaper
            .glyph_index('H')
            .and_then(|h| shaper.glyph_bounding_box(h))
            .map_or(0.73, |bounds| f32::from(bounds.y_max) / units_per_em);
        Self { font, shaper, units_per_em, cap_height }
    }

    /// A character's glyph and advance in ems; one the font lacks is its missing-glyph box.
    fn glyph(&self, c: char) -> (u16, f32) {
        let id = self.shaper.glyph_index(c).unwrap_or_default();
        (id.0, f32::from(self.shaper.glyph_hor_advance(id).unwrap_or(0)) / self.units_per_em)
    }

    /// `text` as glyphs in the order they are drawn, left to right, each knowing the
    /// characters it stands for. Text below U+0300 (Latin with its extensions, the
    /// statement's own wording, dates and amounts) is set a glyph a character from the
    /// advances; anything else (combining marks, right-to-left and joined scripts, as a
    /// typed reason may hold) is put in visual order (Unicode bidi) and shaped by
    /// rustybuzz, as Typst did.
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        if text.chars().all(|c| c < '\u{300}') {
            return text
                .char_indices()
                .map(|(at, c)| {
                    let (id, advance) = self.glyph(c);
                    KrillaGlyph::new(GlyphId::new(id.into()), advance, 0.0, 0.0, 0.0, at..at + c.len_utf8(), None)
                })
                .collect();
        }
        let em = |units: i32| units as f32 / self.units_per_em;
        let bidi = unicode_bidi::ParagraphBidiInfo::new(text, None);
        let (levels, runs) = bidi.visual_runs(0..text.len());
        let mut glyphs = Vec::with_capacity(text.len());
        for run in runs {
            let mut buffer = rustybuzz::UnicodeBuffer::new();
            buffer.push_str(&text[run.clone()]);
            buffer.set_direction(if levels[run.start].is_rtl() {
                rustybuzz::Direction::RightToLeft
            } else {
                rustybuzz::Direction::LeftToRight
            });
            buffer.guess_segment_properties();
            let shaped = rustybuzz::shape(&self.shaper, &[], buffer);
            // A glyph stands for the characters from its cluster to the next one.
            let mut starts: Vec<usize> = shaped.glyph_infos().iter().map(|info| info.cluster as usize).collect();
            starts.sort_unstable();
            starts.dedup();
            for (info, at) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
                let start = info.cluster as usize;
                let end = starts.get(starts.partition_point(|&s| s <= start)).copied().unwrap_or(run.len());
                glyphs.push(KrillaGlyph::new(
                    GlyphId::new(info.glyph_id),
                    em(at.x_advance),
                    em(at.x_offset),
                    em(at.y_offset),
                    em(at.y_advance),
                    run.start + start..run.start + end,
                    None,
                ));
            }
        }
        glyphs
    }
}

impl Style {
    fn face(self) -> &'static Face {
        if self.bold { &BOLD } else { &REGULAR }
    }

    fn width(self, text: &str) -> f32 {
        text.chars().map(|c| self.char_width(c)).sum()
    }

    fn char_width(self, c: char) -> f32 {
        self.face().glyph(c).1 * self.size
    }

    fn cap_height(self) -> f32 {
        self.face().cap_height * self.size
    }

    /// From one line's baseline to the next's, for lines in this style.
    fn pitch(self) -> f32 {
        LEADING + self.cap_height()
    }
}

/// `text` in lines no wider than `width`: words stay whole unless one alone is wider.
fn wrap(style: Style, text: &str, width: f32) -> Vec<String> {
    let space = style.width(" ");
    let mut lines = Vec::new();
    let (mut line, mut used) = (String::new(), 0.0);
    for mut word in text.split_whitespace() {
        let mut wide = style.width(word);
        while wide > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0.0;
            }
            let cut = fits(style, word, width);
            lines.push(word[..cut].to_owned());
            word = &word[cut..];
            wide = style.width(word);
        }
        if word.is_empty() {
            continue;
        }
        if !line.is_empty() && used + space + wide > width {
            lines.push(std::mem::take(&mut line));
            used = 0.0;
        }
        if !line.is_empty() {
            line.push(' ');
            used += space;
        }
        line.push_str(word);
        used += wide;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// How many bytes of `word` fit in `width`: at least its first character.
fn fits(style: Style, word: &str, width: f32) -> usize {
    let mut used = 0.0;
    for (at, c) in word.char_indices() {
        used += style.char_width(c);
        if used > width && at > 0 {
            return at;
        }
    }
    word.len()
}

/// One ledger row as printed: each cell's text, the description in lines.
struct Row {
    cells: [String; COLUMNS],
    description: Vec<String>,
}

impl Row {
    fn new(row: &StatementRow) -> Self {
        let (money_in, money_out) = row.money_in_out();
        Self {
            cells: [
                format_sast(row.at),
                row.description.clone(),
                row.document.clone().unwrap_or_default(),
                money_in,
                money_out,
                format_zar(row.balance_after),
            ],
            description: Vec::new(),
        }
    }

    fn height(&self) -> f32 {
        cell_height(BODY, self.description.len())
    }
}

/// Rows whose description would not fit on one page continue in rows of their own below,
/// holding only the rest of the description, so that nothing is cut off.
fn split_taller_than_a_page(rows: Vec<Row>, page_height: f32) -> Vec<Row> {
    let most = ((page_height - cell_height(BODY, 1)) / BODY.pitch()) as usize + 1;
    let mut split = Vec::with_capacity(rows.len());
    for mut row in rows {
        if row.description.len() <= most {
            split.push(row);
            continue;
        }
        let rest = row.description.split_off(most);
        split.push(row);
        split.extend(rest.chunks(most).map(|lines| Row { cells: Default::default(), description: lines.to_vec() }));
    }
    split
}

/// A table cell of `lines` lines, its insets included.
fn cell_height(style: Style, lines: usize) -> f32 {
    2.0 * INSET + style.cap_height() + lines.saturating_sub(1) as f32 * style.pitch()
}

/// Where each column starts and how wide it is: each as wide as its widest cell, the
/// description taking what is left (so its texts are not measured: they wrap to it).
struct Columns {
    x: [f32; COLUMNS],
    width: [f32; COLUMNS],
}

impl Columns {
    fn measure(rows: &[Row]) -> Self {
        let mut width = HEADINGS.map(|heading| STRONG.width(heading) + 2.0 * INSET);
        for row in rows {
            for (column, text) in row.cells.iter().enumerate().filter(|(column, _)| *column != DESCRIPTION) {
                width[column] = width[column].max(BODY.width(text) + 2.0 * INSET);
            }
        }
        let others: f32 = width.iter().enumerate().filter(|(i, _)| *i != DESCRIPTION).map(|(_, w)| w).sum();
        width[DESCRIPTION] = (RIGHT - LEFT - others).max(STRONG.width(HEADINGS[DESCRIPTION]) + 2.0 * INSET);
        let mut x = [LEFT; COLUMNS];
        for column in 1..COLUMNS {
            x[column] = x[column - 1] + width[column - 1];
        }
        Self { x, width }
    }

    /// Where text of `text_width` starts in `column`, money right-aligned.
    fn text_x(&self, column: usize, text_width: f32) -> f32 {
        if column >= FIRST_MONEY {
            self.x[column] + self.width[column] - INSET - text_width
        } else {
            self.x[column] + INSET
        }
    }
}

/// The rows on each page: as many as fit under the table's header, and a page of its own
/// for the totals when they do not fit under the last row (it then holds no row).
fn paginate(rows: &[Row], first_page_top: f32, header: f32, totals: f32) -> Vec<Range<usize>> {
    let mut pages = Vec::new();
    let (mut start, mut y) = (0, first_page_top + header);
    for (index, row) in rows.iter().enumerate() {
        if y + row.height() > BOTTOM && index > start {
            pages.push(start..index);
            (start, y) = (index, TOP + header);
        }
        y += row.height();
    }
    pages.push(start..rows.len());
    if y + totals > BOTTOM {
        pages.push(rows.len()..rows.len());
    }
    pages
}

/// A page being drawn.
struct Canvas<'s, 'p> {
    surface: &'s mut Surface<'p>,
}

impl Canvas<'_, '_> {
    /// Draws `text` from `x` on the baseline `y`, tagged as a span of `group`.
    fn text(&mut self, group: &mut TagGroup, style: Style, x: f32, y: f32, text: &str) {
        if text.is_empty() {
            return;
        }
        let id = self.surface.start_tagged(ContentTag::Span(SpanTag::empty()));
        self.glyphs(style, x, y, text);
        self.surface.end_tagged();
        group.push(id);
    }

    /// Draws `text` that is not part of the document's content (page furniture).
    fn artifact(&mut self, kind: ArtifactType, style: Style, x: f32, y: f32, text: &str) {
        self.surface.start_tagged(ContentTag::Artifact(kind));
        self.glyphs(style, x, y, text);
        self.surface.end_tagged();
    }

    fn glyphs(&mut self, style: Style, x: f32, y: f32, text: &str) {
        let face = style.face();
        let glyphs = face.glyphs(text);
        self.surface.set_stroke(None);
        self.surface.set_fill(Some(Fill { paint: luma::Color::new(style.grey).into(), ..Fill::default() }));
        self.surface.draw_glyphs(Point::from_xy(x, y), &glyphs, face.font.clone(), text, style.size, false);
    }

    /// A horizontal rule across the table at `y`.
    fn rule(&mut self, y: f32, (width, grey): (f32, u8)) {
        let mut path = PathBuilder::new();
        path.move_to(LEFT, y);
        path.line_to(RIGHT, y);
        let Some(path) = path.finish() else { return };
        self.surface.start_tagged(ContentTag::Artifact(ArtifactType::Other));
        self.surface.set_fill(None);
        self.surface.set_stroke(Some(Stroke { paint: luma::Color::new(grey).into(), width, ..Stroke::default() }));
        self.surface.draw_path(&path);
        self.surface.end_tagged();
    }

    /// Right-aligned `text` ending at `right`.
    fn text_right(&mut self, group: &mut TagGroup, style: Style, right: f32, y: f32, text: &str) {
        self.text(group, style, right - style.width(text), y, text);
    }
}

/// The month's statement as a PDF: its parties, opening balance, every row, closing
/// balance and committed monthly spend.
pub fn statement_pdf(st: &Statement) -> Result<Vec<u8>, PdfError> {
    let layout = Layout::new(st);
    let mut document = Document::new();
    let mut tree = TagTree::new();
    let mut table =
        TableTags { head: TagGroup::new(Tag::THead), body: TagGroup::new(Tag::TBody), foot: TagGroup::new(Tag::TFoot) };
    let page_count = layout.pages.len();
    for (index, on_page) in layout.pages.iter().enumerate() {
        let mut page = document.start_page_with(PageSettings::new(WIDTH, HEIGHT));
        let mut surface = page.surface();
        let mut canvas = Canvas { surface: &mut surface };
        let mut y = TOP;
        if index == 0 {
            layout.draw_head(&mut canvas, &mut tree);
            y = layout.table_top;
        }
        // The table's header is tagged once, on the first page; a repetition after that.
        y = layout.draw_table_header(&mut canvas, y, (index == 0).then_some(&mut table.head));
        for row in &layout.rows[on_page.clone()] {
            y = layout.draw_row(&mut canvas, y, row, &mut table.body);
        }
        if index + 1 == page_count {
            layout.draw_totals(&mut canvas, y, &mut table.foot);
        }
        canvas.artifact(ArtifactType::Footer, FOOTER, LEFT, FOOTER_BASELINE, &layout.title);
        let numbering = format!("Page {} of {page_count}", index + 1);
        canvas.artifact(ArtifactType::Footer, FOOTER, RIGHT - FOOTER.width(&numbering), FOOTER_BASELINE, &numbering);
        surface.finish();
        page.finish();
    }
    let mut group = TagGroup::new(Tag::Table);
    for part in [table.head, table.body, table.foot] {
        group.push(part);
    }
    tree.push(group);
    document.set_metadata(Metadata::new().title(layout.title).language("en-ZA".into()));
    document.set_tag_tree(tree);
    document.finish().map_err(|error| PdfError::Export(format!("{error:?}")))
}

/// The table's tags, filled page by page.
struct TableTags {
    head: TagGroup,
    body: TagGroup,
    foot: TagGroup,
}

/// Everything measured before the first page is drawn.
struct Layout {
    title: String,
    month: String,
    generated: String,
    opening: String,
    parties: [Vec<(Style, String)>; 2],
    totals: [(Style, &'static str, String); 2],
    columns: Columns,
    rows: Vec<Row>,
    parties_top: f32,
    opening_baseline: f32,
    table_top: f32,
    /// The rows on each page.
    pages: Vec<Range<usize>>,
}

/// Between the two parties' blocks.
const PARTY_GAP: f32 = 16.0;
const PARTY_WIDTH: f32 = (RIGHT - LEFT - PARTY_GAP) / 2.0;

impl Layout {
    fn new(st: &Statement) -> Self {
        let month = st.month.format("%B %Y").to_string();
        let parties = [("From", &st.supplier), ("Organisation", &st.recipient)]
            .map(|(heading, party)| party_lines(heading, &PartyData::full(party), PARTY_WIDTH));
        let totals = [
            (STRONG, "Closing balance", format_zar(st.closing_balance)),
            (BODY, "Committed monthly spend (VAT incl.)", format_zar(st.committed_monthly)),
        ];

        let mut rows: Vec<Row> = st.rows.iter().map(Row::new).collect();
        let columns = Columns::measure(&rows);
        let text_width = columns.width[DESCRIPTION] - 2.0 * INSET;
        for row in &mut rows {
            row.description = wrap(BODY, &std::mem::take(&mut row.cells[DESCRIPTION]), text_width);
        }
        let header_height = cell_height(STRONG, 1);
        let rows = split_taller_than_a_page(rows, BOTTOM - TOP - header_height);

        // The first page's head: title and month, the parties, the opening balance.
        let title_height = TITLE.cap_height().max(MONTH.cap_height() + LEADING + BODY.cap_height());
        let parties_top = TOP + title_height + BLOCK_GAP;
        let parties_height = parties.iter().map(|lines| block_height(lines)).fold(0.0, f32::max);
        let opening_baseline = parties_top + parties_height + BLOCK_GAP + BODY.cap_height();
        let table_top = opening_baseline + BLOCK_GAP;
        let totals_height = totals.iter().map(|(style, ..)| cell_height(*style, 1)).sum();
        let pages = paginate(&rows, table_top, header_height, totals_height);
        Self {
            title: format!("Statement {month}"),
            month,
            generated: format!("Generated: {}", format_sast(st.generated_at)),
            opening: format_zar(st.opening_balance),
            parties,
            totals,
            columns,
            rows,
            parties_top,
            opening_baseline,
            table_top,
            pages,
        }
    }

    /// The first page's head: title, month and date generated, both parties, the opening
    /// balance.
    fn draw_head(&self, canvas: &mut Canvas<'_, '_>, tree: &mut TagTree) {
        let mut heading = TagGroup::new(Tag::Hn(NonZeroU16::MIN, Some("Statement".into())));
        canvas.text(&mut heading, TITLE, LEFT, TOP + TITLE.cap_height(), "Statement");
        tree.push(heading);
        let mut dates = TagGroup::new(Tag::P);
        let month_baseline = TOP + MONTH.cap_height();
        canvas.text_right(&mut dates, MONTH, RIGHT, month_baseline, &self.month);
        canvas.text_right(&mut dates, BODY, RIGHT, month_baseline + LEADING + BODY.cap_height(), &self.generated);
        tree.push(dates);
        for (column, lines) in self.parties.iter().enumerate() {
            let mut party = TagGroup::new(Tag::P);
            let x = LEFT + column as f32 * (PARTY_WIDTH + PARTY_GAP);
            let mut baseline = self.parties_top;
            for (i, (style, line)) in lines.iter().enumerate() {
                baseline += if i == 0 { style.cap_height() } else { style.pitch() };
                canvas.text(&mut party, *style, x, baseline, line);
            }
            tree.push(party);
        }
        let mut balance = TagGroup::new(Tag::P);
        let amount_x = RIGHT - BODY.width(&self.opening);
        let label = "Opening balance";
        canvas.text(&mut balance, BODY, amount_x - GUTTER - BODY.width(label), self.opening_baseline, label);
        canvas.text(&mut balance, BODY, amount_x, self.opening_baseline, &self.opening);
        tree.push(balance);
    }

    /// The column headings from `y`, and the rule under them; tagged into `head` when
    /// given, page furniture otherwise. Returns where the rows start.
    fn draw_table_header(&self, canvas: &mut Canvas<'_, '_>, y: f32, head: Option<&mut TagGroup>) -> f32 {
        let baseline = y + INSET + STRONG.cap_height();
        let at = |column: usize, heading: &str| self.columns.text_x(column, STRONG.width(heading));
        if let Some(head) = head {
            let mut row = TagGroup::new(Tag::TR);
            for (column, heading) in HEADINGS.iter().enumerate() {
                let mut cell = TagGroup::new(Tag::TH(TableHeaderScope::Column));
                canvas.text(&mut cell, STRONG, at(column, heading), baseline, heading);
                row.push(cell);
            }
            head.push(row);
        } else {
            for (column, heading) in HEADINGS.iter().enumerate() {
                canvas.artifact(ArtifactType::Other, STRONG, at(column, heading), baseline, heading);
            }
        }
        let y = y + cell_height(STRONG, 1);
        canvas.rule(y, HEADER_RULE);
        y
    }

    /// One ledger row from `y` and the rule under it. Returns where the next row starts.
    fn draw_row(&self, canvas: &mut Canvas<'_, '_>, y: f32, row: &Row, body: &mut TagGroup) -> f32 {
        let mut tr = TagGroup::new(Tag::TR);
        let baseline = y + INSET + BODY.cap_height();
        for (column, text) in row.cells.iter().enumerate() {
            let mut cell = TagGroup::new(Tag::TD);
            if column == DESCRIPTION {
                let x = self.columns.text_x(column, 0.0);
                for (i, line) in row.description.iter().enumerate() {
                    canvas.text(&mut cell, BODY, x, baseline + i as f32 * BODY.pitch(), line);
                }
            } else {
                canvas.text(&mut cell, BODY, self.columns.text_x(column, BODY.width(text)), baseline, text);
            }
            tr.push(cell);
        }
        body.push(tr);
        let y = y + row.height();
        canvas.rule(y, ROW_RULE);
        y
    }

    /// The closing balance and committed monthly spend from `y`: each label right-aligned
    /// under the first four columns, its amount under the last two.
    fn draw_totals(&self, canvas: &mut Canvas<'_, '_>, mut y: f32, foot: &mut TagGroup) {
        let label_right = self.columns.x[FIRST_MONEY + 1] - INSET;
        for (style, label, amount) in &self.totals {
            let mut tr = TagGroup::new(Tag::TR);
            let baseline = y + INSET + style.cap_height();
            let (mut label_cell, mut amount_cell) = (TagGroup::new(Tag::TD), TagGroup::new(Tag::TD));
            canvas.text_right(&mut label_cell, *style, label_right, baseline, label);
            canvas.text_right(&mut amount_cell, *style, RIGHT - INSET, baseline, amount);
            tr.push(label_cell);
            tr.push(amount_cell);
            foot.push(tr);
            y += cell_height(*style, 1);
        }
    }
}

/// A party's lines as printed, each with its style: the heading, the name, the address
/// (wrapped to `width`), registration and VAT numbers.
fn party_lines(heading: &str, party: &PartyData<'_>, width: f32) -> Vec<(Style, String)> {
    let mut lines = vec![(LABEL, heading.to_uppercase())];
    let mut add = |style: Style, text: &str| lines.extend(wrap(style, text, width).into_iter().map(|l| (style, l)));
    if !party.name.is_empty() {
        add(STRONG, party.name);
    }
    for line in &party.address {
        add(BODY, line);
    }
    if let Some(number) = party.registration_number {
        add(BODY, &format!("Registration number: {number}"));
    }
    if let Some(number) = party.vat_number {
        add(BODY, &format!("VAT number: {number}"));
    }
    lines
}

/// From the top of a block of lines to its last baseline.
fn block_height(lines: &[(Style, String)]) -> f32 {
    lines.iter().enumerate().map(|(i, (style, _))| if i == 0 { style.cap_height() } else { style.pitch() }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use krilla::text::Glyph;

    fn ids(glyphs: &[KrillaGlyph]) -> Vec<u32> {
        glyphs.iter().map(|glyph| glyph.glyph_id().to_u32()).collect()
    }

    #[test]
    fn latin_text_is_a_glyph_a_character() {
        let glyphs = REGULAR.glyphs("Zoë R 1.50");
        assert_eq!(glyphs.len(), 10);
        assert_eq!(glyphs[2].text_range(), 2..4, "ë is two bytes");
    }

    #[test]
    fn joined_scripts_are_shaped_and_right_to_left_text_is_drawn_in_visual_order() {
        // Arabic "salaam": four letters that join; the character map gives their isolated forms.
        let text = "سلام";
        let glyphs = REGULAR.glyphs(text);
        let isolated: Vec<u32> = text.chars().map(|c| u32::from(REGULAR.glyph(c).0)).collect();
        assert_ne!(ids(&glyphs), isolated.iter().rev().copied().collect::<Vec<_>>(), "joined forms");
        assert_eq!(glyphs.first().map(Glyph::text_range), Some(6..8), "the last letter is drawn leftmost");
        assert_eq!(glyphs.last().map(Glyph::text_range), Some(0..2), "the first letter is drawn rightmost");

        // In a left-to-right reason, a Hebrew word keeps its place and reads right to left.
        let text = "Refund: שלום today";
        let glyphs = REGULAR.glyphs(text);
        let hebrew = text.find('ש').expect("present");
        let order: Vec<usize> = glyphs.iter().map(|glyph| glyph.text_range().start).collect();
        assert_eq!(&order[..8], &[0, 1, 2, 3, 4, 5, 6, 7], "'Refund: ' first, in order");
        assert_eq!(&order[8..12], &[hebrew + 6, hebrew + 4, hebrew + 2, hebrew], "the Hebrew word reversed");
    }
}
