//! One record's cells in one buffer: their text back to back and where each ends. A record
//! costs two allocations however many cells it has (a `Vec<String>` cost one a cell, and the
//! allocator was the largest share of a million-row dry run), and it moves between threads and
//! into its results row without copying a cell.

use std::fmt;
use std::ops::{Index, Range};

/// A record's cells, in column order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Cells<T = String> {
    /// Every cell's text, back to back.
    text: T,
    /// Where each cell ends in `text`. A record is at most `RECORD_CAP` bytes (a sheet row
    /// `MAX_CELLS` × `CELL_CAP`), far below `u32::MAX`.
    ends: Vec<u32>,
}

/// A record's cells as raw bytes, before they are known to be text.
pub(super) type RawCells = Cells<Vec<u8>>;

/// The storage behind [`Cells`]: text, or bytes still to be decoded.
pub trait Buffer: Default {
    /// An empty buffer with room for `bytes`.
    fn with_room(bytes: usize) -> Self;
    /// The view of one cell.
    type Cell: ?Sized;
    /// Appends a cell.
    fn append(&mut self, cell: &Self::Cell);
    /// Bytes stored.
    fn stored(&self) -> usize;
    /// The cell at this byte range.
    fn slice(&self, range: Range<usize>) -> &Self::Cell;
    /// Drops what is stored past `len` bytes.
    fn cut(&mut self, len: usize);
}

impl Buffer for String {
    type Cell = str;
    fn with_room(bytes: usize) -> Self {
        String::with_capacity(bytes)
    }
    fn append(&mut self, cell: &str) {
        self.push_str(cell);
    }
    fn stored(&self) -> usize {
        self.len()
    }
    fn slice(&self, range: Range<usize>) -> &str {
        &self[range]
    }
    fn cut(&mut self, len: usize) {
        self.truncate(len);
    }
}

impl Buffer for Vec<u8> {
    type Cell = [u8];
    fn with_room(bytes: usize) -> Self {
        Vec::with_capacity(bytes)
    }
    fn append(&mut self, cell: &[u8]) {
        self.extend_from_slice(cell);
    }
    fn stored(&self) -> usize {
        self.len()
    }
    fn slice(&self, range: Range<usize>) -> &[u8] {
        &self[range]
    }
    fn cut(&mut self, len: usize) {
        self.truncate(len);
    }
}

impl<T: Buffer> Cells<T> {
    /// No cells yet, with room for `bytes` of text in `cells` cells: a record sized like the
    /// one before it is then allocated once, not grown a cell at a time.
    pub fn with_capacity(bytes: usize, cells: usize) -> Self {
        Cells {
            text: T::with_room(bytes),
            ends: Vec::with_capacity(cells),
        }
    }

    /// Appends a cell.
    pub fn push(&mut self, cell: &T::Cell) {
        self.text.append(cell);
        self.end_cell();
    }

    /// The buffer, for appending to the cell being built; [`Cells::end_cell`] closes it.
    pub fn open_cell(&mut self) -> &mut T {
        &mut self.text
    }

    /// Closes the cell built in [`Cells::open_cell`].
    pub fn end_cell(&mut self) {
        let end = u32::try_from(self.text.stored()).expect("a record is far below 4 GiB");
        self.ends.push(end);
    }

    /// Drops the cell being built.
    pub fn discard_open_cell(&mut self) {
        let start = self.start(self.ends.len());
        self.text.cut(start);
    }

    /// Bytes of the cell being built (since the last [`Cells::end_cell`]).
    pub fn open_len(&self) -> usize {
        self.text.stored() - self.start(self.ends.len())
    }

    /// How many cells.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// No cell at all.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The cell at `index`, if the record has that many.
    pub fn get(&self, index: usize) -> Option<&T::Cell> {
        let end = *self.ends.get(index)? as usize;
        Some(self.text.slice(self.start(index)..end))
    }

    /// Every cell, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T::Cell> + DoubleEndedIterator + Clone {
        (0..self.len()).map(|index| self.text.slice(self.start(index)..self.ends[index] as usize))
    }

    /// Bytes of text held: the cells together.
    pub fn text_len(&self) -> usize {
        self.text.stored()
    }

    fn start(&self, index: usize) -> usize {
        index.checked_sub(1).map_or(0, |before| self.ends[before] as usize)
    }
}

impl RawCells {
    /// The same cells as text, without a copy, when every cell is text: the buffer is checked
    /// once, whole, and each cell must end on a character boundary (a whole buffer can be text
    /// while a cell ends inside a character); otherwise the raw cells come back.
    pub fn into_text(self) -> Result<Cells, RawCells> {
        let ends = self.ends;
        match String::from_utf8(self.text) {
            Ok(text) if ends.iter().all(|&end| text.is_char_boundary(end as usize)) => Ok(Cells { text, ends }),
            Ok(text) => Err(Cells {
                text: text.into_bytes(),
                ends,
            }),
            Err(e) => Err(Cells {
                text: e.into_bytes(),
                ends,
            }),
        }
    }
}

impl<T: Buffer> Index<usize> for Cells<T> {
    type Output = T::Cell;

    fn index(&self, index: usize) -> &T::Cell {
        self.get(index).expect("a cell within the record")
    }
}

impl<S: AsRef<str>> FromIterator<S> for Cells {
    fn from_iter<I: IntoIterator<Item = S>>(cells: I) -> Cells {
        let mut all = Cells::default();
        for cell in cells {
            all.push(cell.as_ref());
        }
        all
    }
}

impl From<Vec<String>> for Cells {
    fn from(cells: Vec<String>) -> Cells {
        cells.iter().collect()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for Cells {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

impl<T: Buffer> fmt::Debug for Cells<T>
where
    T::Cell: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_come_back_as_they_went_in() {
        let cells: Cells = ["a@x.com", "", "Zoë", "\"q\",;"].into_iter().collect();
        assert_eq!(cells.len(), 4);
        assert_eq!(cells, ["a@x.com", "", "Zoë", "\"q\",;"]);
        assert_eq!(cells.get(1), Some(""));
        assert_eq!(cells.get(4), None);
        assert_eq!(&cells[2], "Zoë");
        assert_eq!(cells.iter().next_back(), Some("\"q\",;"));
        assert_eq!(format!("{cells:?}"), r#"["a@x.com", "", "Zoë", "\"q\",;"]"#);
        assert!(Cells::<String>::default().is_empty());
    }

    #[test]
    fn a_cell_is_built_in_place() {
        let mut raw = RawCells::default();
        raw.push(b"one");
        raw.open_cell().extend_from_slice(b"tw");
        assert_eq!(raw.open_len(), 2);
        raw.open_cell().extend_from_slice(b"o");
        raw.end_cell();
        assert_eq!(raw.iter().collect::<Vec<_>>(), [b"one".as_slice(), b"two"]);
        assert_eq!(raw.open_len(), 0);
        raw.open_cell().extend_from_slice(b"dropped");
        raw.discard_open_cell();
        assert_eq!(raw.text_len(), 6);
        assert_eq!(raw.len(), 2);
    }

    #[test]
    fn raw_cells_become_text_only_when_every_cell_is_text() {
        let raw = |cells: &[&[u8]]| {
            let mut raw = RawCells::default();
            cells.iter().for_each(|cell| raw.push(cell));
            raw
        };
        assert_eq!(raw(&["é".as_bytes(), b"b"]).into_text().unwrap(), ["é", "b"]);
        let split = raw(&[&"é".as_bytes()[..1], &"é".as_bytes()[1..]]);
        assert_eq!(split.clone().into_text().unwrap_err(), split, "text together, not each");
        let latin1 = raw(&[b"Ren\xe9"]);
        assert_eq!(latin1.clone().into_text().unwrap_err(), latin1);
    }
}
