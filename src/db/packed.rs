//! A page's rows packed into one flat buffer: the writer's spare copy of a page whose
//! rows it hands over to a bulk request. Packing is a run of copies into one reused
//! buffer, where cloning the rows would allocate (and later free) every string value;
//! the rows are unpacked only when the page has to be written again (after a lost
//! connection, or row by row to name the row the server refused).

use mysql::Value;

const NULL: u8 = 0;
const BYTES: u8 = 1;
const INT: u8 = 2;
const UINT: u8 = 3;
const FLOAT: u8 = 4;
const DOUBLE: u8 = 5;
const DATE: u8 = 6;
const TIME: u8 = 7;

/// Replaces `buf`'s contents with `rows`.
pub fn pack(rows: &[Vec<Value>], buf: &mut Vec<u8>) {
    buf.clear();
    put_len(buf, rows.len());
    for row in rows {
        put_len(buf, row.len());
        for v in row {
            match v {
                Value::NULL => buf.push(NULL),
                Value::Bytes(b) => {
                    buf.push(BYTES);
                    put_len(buf, b.len());
                    buf.extend_from_slice(b);
                }
                Value::Int(i) => {
                    buf.push(INT);
                    buf.extend_from_slice(&i.to_le_bytes());
                }
                Value::UInt(u) => {
                    buf.push(UINT);
                    buf.extend_from_slice(&u.to_le_bytes());
                }
                Value::Float(f) => {
                    buf.push(FLOAT);
                    buf.extend_from_slice(&f.to_bits().to_le_bytes());
                }
                Value::Double(d) => {
                    buf.push(DOUBLE);
                    buf.extend_from_slice(&d.to_bits().to_le_bytes());
                }
                Value::Date(y, mo, d, h, mi, s, us) => {
                    buf.push(DATE);
                    buf.extend_from_slice(&y.to_le_bytes());
                    buf.extend_from_slice(&[*mo, *d, *h, *mi, *s]);
                    buf.extend_from_slice(&us.to_le_bytes());
                }
                Value::Time(neg, days, h, mi, s, us) => {
                    buf.push(TIME);
                    buf.push(u8::from(*neg));
                    buf.extend_from_slice(&days.to_le_bytes());
                    buf.extend_from_slice(&[*h, *mi, *s]);
                    buf.extend_from_slice(&us.to_le_bytes());
                }
            }
        }
    }
}

/// The rows `pack` put into `buf`.
pub fn unpack(buf: &[u8]) -> Vec<Vec<Value>> {
    let mut r = Reader { buf, at: 0 };
    let n = r.len();
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        let cols = r.len();
        let mut row = Vec::with_capacity(cols);
        for _ in 0..cols {
            row.push(match r.byte() {
                NULL => Value::NULL,
                BYTES => {
                    let len = r.len();
                    Value::Bytes(r.take(len).to_vec())
                }
                INT => Value::Int(i64::from_le_bytes(r.array())),
                UINT => Value::UInt(u64::from_le_bytes(r.array())),
                FLOAT => Value::Float(f32::from_bits(u32::from_le_bytes(r.array()))),
                DOUBLE => Value::Double(f64::from_bits(u64::from_le_bytes(r.array()))),
                DATE => {
                    let y = u16::from_le_bytes(r.array());
                    let [mo, d, h, mi, s] = r.array();
                    Value::Date(y, mo, d, h, mi, s, u32::from_le_bytes(r.array()))
                }
                TIME => {
                    let neg = r.byte() != 0;
                    let days = u32::from_le_bytes(r.array());
                    let [h, mi, s] = r.array();
                    Value::Time(neg, days, h, mi, s, u32::from_le_bytes(r.array()))
                }
                tag => unreachable!("packed value tag {tag}"),
            });
        }
        rows.push(row);
    }
    rows
}

fn put_len(buf: &mut Vec<u8>, n: usize) {
    buf.extend_from_slice(&(n as u64).to_le_bytes());
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let s = &self.buf[self.at..self.at + n];
        self.at += n;
        s
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        self.take(N).try_into().expect("N bytes")
    }

    fn byte(&mut self) -> u8 {
        self.array::<1>()[0]
    }

    fn len(&mut self) -> usize {
        u64::from_le_bytes(self.array()) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_value_comes_back_as_it_went_in() {
        let rows = vec![
            vec![
                Value::NULL,
                Value::Bytes(vec![]),
                Value::Bytes((0..=255).collect()),
                Value::Int(i64::MIN),
                Value::UInt(u64::MAX),
                Value::Float(f32::from_bits(0x7fc0_0001)),
                Value::Double(-0.0),
                Value::Date(0, 0, 0, 0, 0, 0, 0),
                Value::Date(9999, 12, 31, 23, 59, 59, 999_999),
                Value::Time(true, 34, 22, 59, 59, 1),
            ],
            vec![],
            vec![Value::Bytes("家 😀".as_bytes().to_vec())],
        ];
        let mut buf = vec![42; 7];
        pack(&rows, &mut buf);
        let back = unpack(&buf);
        assert_eq!(back.len(), rows.len());
        for (a, b) in rows.iter().zip(&back) {
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(b) {
                // Float NaN payloads and -0.0 compare by bits.
                match (x, y) {
                    (Value::Float(p), Value::Float(q)) => assert_eq!(p.to_bits(), q.to_bits()),
                    (Value::Double(p), Value::Double(q)) => assert_eq!(p.to_bits(), q.to_bits()),
                    _ => assert_eq!(x, y),
                }
            }
        }
        pack(&[], &mut buf);
        assert!(unpack(&buf).is_empty());
    }
}
