//! The smallest Typst `World` that can print our documents: the templates and fonts are
//! compiled into the binary and parsed once per process; a render only brings its data,
//! a JSON file at `/data.json` that the template reads. Nothing is read from disk or
//! fetched, and no package can be imported.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime};
use typst::layout::PagedDocument;
use typst::syntax::{FileId, Source, VirtualPath};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use super::PdfError;

const FONTS: [&[u8]; 2] = [super::DEJAVU_SANS, super::DEJAVU_SANS_BOLD];

/// The templates, by the path they have inside the Typst world.
const TEMPLATES: [(&str, &str); 2] = [
    ("/common.typ", include_str!("../../templates/pdf/common.typ")),
    ("/invoice.typ", include_str!("../../templates/pdf/invoice.typ")),
];
/// The template a render starts from: the tax invoice's (the statement is drawn by
/// `statement.rs`, without Typst).
const MAIN: usize = 1;

/// Where the template finds its data (`json("/data.json")`).
const DATA_PATH: &str = "/data.json";

/// What every render shares: built on first use, then only read, so renders on several
/// blocking threads share it without a lock. Typst's own memoisation (comemo) also keeps
/// the parsed templates and laid-out fragments between renders.
struct Statics {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    sources: Vec<Source>,
    data_id: FileId,
}

static STATICS: LazyLock<Statics> = LazyLock::new(|| {
    let fonts: Vec<Font> = FONTS.iter().flat_map(|data| Font::iter(Bytes::new(*data))).collect();
    let sources = TEMPLATES
        .iter()
        .map(|(path, text)| Source::new(FileId::new(None, VirtualPath::new(path)), (*text).to_owned()))
        .collect();
    Statics {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
        sources,
        data_id: FileId::new(None, VirtualPath::new(DATA_PATH)),
    }
});

/// One render: the shared statics, the template to start from and this document's data.
struct RenderWorld {
    statics: &'static Statics,
    main: FileId,
    data: Bytes,
}

impl World for RenderWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.statics.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.statics.book
    }

    fn main(&self) -> FileId {
        self.main
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.statics
            .sources
            .iter()
            .find(|source| source.id() == id)
            .cloned()
            .ok_or_else(|| FileError::NotFound(id.vpath().as_rootless_path().into()))
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.statics.data_id {
            Ok(self.data.clone())
        } else {
            Err(FileError::NotFound(id.vpath().as_rootless_path().into()))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.statics.fonts.get(index).cloned()
    }

    /// Documents carry their own dates; a template that asked for today would make the
    /// same document print differently tomorrow.
    fn today(&self, _offset: Option<i64>) -> Option<Datetime> {
        None
    }
}

/// Lays out the invoice template over `data` (JSON) and writes the PDF.
pub(super) fn render(data: Vec<u8>) -> Result<Vec<u8>, PdfError> {
    let statics = &*STATICS;
    let world = RenderWorld { statics, main: statics.sources[MAIN].id(), data: Bytes::new(data) };
    let document: PagedDocument =
        typst::compile(&world).output.map_err(|errors| PdfError::Layout(messages(&errors)))?;
    let pdf = typst_pdf::pdf(&document, &typst_pdf::PdfOptions::default())
        .map_err(|errors| PdfError::Export(messages(&errors)));
    // Typst memoises across renders; forget what the last few renders did not reuse, so
    // a server's memory stays flat under a stream of different documents.
    comemo::evict(10);
    pdf
}

fn messages(errors: &[SourceDiagnostic]) -> String {
    errors.iter().map(|error| error.message.as_str()).collect::<Vec<_>>().join("; ")
}
