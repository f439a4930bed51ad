//! DNS messages (RFC 1035 §4): zero-copy parsing for a stub resolver, and building of
//! queries and of simple A responses for a test server.
//!
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-------------------------------+
//! |              ID               |
//! +-+-------+-+-+-+-+-+-+-+-------+
//! |Q|Opcode |A|T|R|R|Z|A|C| RCODE |
//! |R|       |A|C|D|A| |D|D|       |
//! +-+-------+-+-+-+-+-+-+-+-------+
//! |           QDCOUNT             |
//! |           ANCOUNT             |
//! |           NSCOUNT             |
//! |           ARCOUNT             |
//! +-------------------------------+
//! | Question | Answer | Authority | Additional
//! ```
//!
//! [`Message::parse`] checks the header and walks every section once, following every
//! name's compression pointers, so the iterators and [`Name::labels`] afterwards cannot
//! fail: what they yield is what `parse` validated. Bytes after the last record are
//! tolerated (some servers pad).

use core::fmt;
use core::net::Ipv4Addr;

use super::{Error, Result};

/// Length of the fixed header.
pub const HEADER_LEN: usize = 12;
/// RFC 1035 §3.2.2: a host address.
pub const TYPE_A: u16 = 1;
/// RFC 1035 §3.2.2: the canonical name for an alias.
pub const TYPE_CNAME: u16 = 5;
/// RFC 1035 §3.2.4: the Internet class.
pub const CLASS_IN: u16 = 1;
/// RFC 1035 §2.3.4: a name's wire length (length bytes included) is at most 255.
pub const MAX_NAME_LEN: usize = 255;
/// RFC 1035 §2.3.4: a label is at most 63 bytes.
pub const MAX_LABEL_LEN: usize = 63;
/// The most compression pointers followed within one name. Pointers must also point
/// strictly backwards, which alone rules out loops; this bounds the work per name.
pub const MAX_POINTER_HOPS: usize = 128;
/// RFC 1035 §4.2.1: the classic limit of a DNS message over UDP.
pub const MAX_UDP_LEN: usize = 512;

mod field {
    use core::ops::Range;
    pub const ID: Range<usize> = 0..2;
    pub const FLAGS: Range<usize> = 2..4;
    pub const QDCOUNT: Range<usize> = 4..6;
    pub const ANCOUNT: Range<usize> = 6..8;
    pub const NSCOUNT: Range<usize> = 8..10;
    pub const ARCOUNT: Range<usize> = 10..12;
}

mod flag {
    pub const QR: u16 = 0x8000;
    pub const OPCODE_SHIFT: u16 = 11;
    pub const AA: u16 = 0x0400;
    pub const TC: u16 = 0x0200;
    pub const RD: u16 = 0x0100;
    pub const RA: u16 = 0x0080;
    /// RFC 4035 §3.2.3: authentic data.
    pub const AD: u16 = 0x0020;
    /// RFC 4035 §3.2.2: checking disabled.
    pub const CD: u16 = 0x0010;
    pub const RCODE: u16 = 0x000f;
}

/// A compression pointer to the name at the end of the header (the question's), which
/// [`emit_response`] uses as every answer's owner name.
const POINTER_TO_QUESTION: [u8; 2] = [0xc0, HEADER_LEN as u8];

/// The response code (RFC 1035 §4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rcode {
    NoError,
    FormErr,
    ServFail,
    /// The name does not exist.
    NxDomain,
    NotImp,
    Refused,
    /// Any other code; the header holds 4 bits.
    Other(u8),
}

impl From<u8> for Rcode {
    fn from(value: u8) -> Rcode {
        match value {
            0 => Rcode::NoError,
            1 => Rcode::FormErr,
            2 => Rcode::ServFail,
            3 => Rcode::NxDomain,
            4 => Rcode::NotImp,
            5 => Rcode::Refused,
            other => Rcode::Other(other),
        }
    }
}

impl From<Rcode> for u8 {
    fn from(value: Rcode) -> u8 {
        match value {
            Rcode::NoError => 0,
            Rcode::FormErr => 1,
            Rcode::ServFail => 2,
            Rcode::NxDomain => 3,
            Rcode::NotImp => 4,
            Rcode::Refused => 5,
            Rcode::Other(other) => other,
        }
    }
}

/// tcpdump's names.
impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::NoError => write!(f, "NoError"),
            Rcode::FormErr => write!(f, "FormErr"),
            Rcode::ServFail => write!(f, "ServFail"),
            Rcode::NxDomain => write!(f, "NXDomain"),
            Rcode::NotImp => write!(f, "NotImp"),
            Rcode::Refused => write!(f, "Refused"),
            Rcode::Other(code) => write!(f, "Resp{code}"),
        }
    }
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    match bytes.get(at..at.checked_add(2)?)? {
        &[hi, lo] => Some(u16::from_be_bytes([hi, lo])),
        _ => None,
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at.checked_add(4)?)? {
        &[a, b, c, d] => Some(u32::from_be_bytes([a, b, c, d])),
        _ => None,
    }
}

/// RFC 1035 §4.1.4: validates the possibly compressed name at `start` and returns the
/// offset just after its in-place part (after the root label or the first pointer).
///
/// Rules: labels fit in the message; a pointer points strictly before the labels being
/// read (before the name's start, or before the previous pointer's target), so every jump
/// goes further back and loops are impossible; no pointer targets the header; at most
/// [`MAX_POINTER_HOPS`] pointers; the uncompressed name is at most [`MAX_NAME_LEN`] bytes;
/// label types 01 and 10 (RFC 6891 §5, obsolete) are rejected.
fn check_name(msg: &[u8], start: usize) -> Result<usize> {
    let mut pos = start;
    let mut segment_start = start;
    let mut end = None;
    let mut name_len = 1;
    let mut hops = 0;
    loop {
        let &len = msg.get(pos).ok_or(Error::Truncated)?;
        match len >> 6 {
            0b00 if len == 0 => return Ok(end.unwrap_or(pos + 1)),
            0b00 => {
                let label_end = pos + 1 + usize::from(len);
                if label_end > msg.len() {
                    return Err(Error::Truncated);
                }
                name_len += 1 + usize::from(len);
                if name_len > MAX_NAME_LEN {
                    return Err(Error::Malformed);
                }
                pos = label_end;
            }
            0b11 => {
                let &low = msg.get(pos + 1).ok_or(Error::Truncated)?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                hops += 1;
                if target >= segment_start || target < HEADER_LEN || hops > MAX_POINTER_HOPS {
                    return Err(Error::Malformed);
                }
                end.get_or_insert(pos + 2);
                pos = target;
                segment_start = target;
            }
            _ => return Err(Error::Malformed),
        }
    }
}

/// The offset just after the in-place part of a name `check_name` accepted.
fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let &len = msg.get(pos)?;
        match len >> 6 {
            0b00 if len == 0 => return Some(pos + 1),
            0b00 => pos += 1 + usize::from(len),
            0b11 => return Some(pos + 2),
            _ => return None,
        }
    }
}

/// Validates a question and returns the offset after it.
fn check_question(msg: &[u8], at: usize) -> Result<usize> {
    let end = check_name(msg, at)? + 4;
    if end > msg.len() {
        return Err(Error::Truncated);
    }
    Ok(end)
}

/// Validates a resource record (RFC 1035 §4.1.3) and returns the offset after it: the
/// data of an A record of class IN is 4 bytes, the data of a CNAME is exactly one name.
fn check_record(msg: &[u8], at: usize) -> Result<usize> {
    let at = check_name(msg, at)?;
    let (Some(rtype), Some(class), Some(data_len)) =
        (read_u16(msg, at), read_u16(msg, at + 2), read_u16(msg, at + 8))
    else {
        return Err(Error::Truncated);
    };
    let data_start = at + 10;
    let data_end = data_start + usize::from(data_len);
    if data_end > msg.len() {
        return Err(Error::Truncated);
    }
    match rtype {
        TYPE_A if class == CLASS_IN && data_len != 4 => return Err(Error::Malformed),
        TYPE_CNAME if check_name(msg, data_start)? != data_end => return Err(Error::Malformed),
        _ => {}
    }
    Ok(data_end)
}

/// A validated DNS message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    bytes: &'a [u8],
    answers_at: usize,
    authorities_at: usize,
    additionals_at: usize,
    end: usize,
}

impl<'a> Message<'a> {
    /// Validates the header and every question and record (see the module doc).
    /// Counts that promise more entries than the bytes hold are [`Error::Truncated`].
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>> {
        if bytes.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let count = |range: core::ops::Range<usize>| read_u16(bytes, range.start).unwrap_or(0);
        let mut at = HEADER_LEN;
        for _ in 0..count(field::QDCOUNT) {
            at = check_question(bytes, at)?;
        }
        let answers_at = at;
        for _ in 0..count(field::ANCOUNT) {
            at = check_record(bytes, at)?;
        }
        let authorities_at = at;
        for _ in 0..count(field::NSCOUNT) {
            at = check_record(bytes, at)?;
        }
        let additionals_at = at;
        for _ in 0..count(field::ARCOUNT) {
            at = check_record(bytes, at)?;
        }
        Ok(Message { bytes, answers_at, authorities_at, additionals_at, end: at })
    }

    fn header_u16(&self, range: core::ops::Range<usize>) -> u16 {
        read_u16(self.bytes, range.start).unwrap_or(0)
    }

    fn flags(&self) -> u16 {
        self.header_u16(field::FLAGS)
    }

    /// The message up to the end of its last record, without trailing bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes.get(..self.end).unwrap_or(self.bytes)
    }

    pub fn id(&self) -> u16 {
        self.header_u16(field::ID)
    }

    /// QR: a response rather than a query.
    pub fn is_response(&self) -> bool {
        self.flags() & flag::QR != 0
    }

    /// The 4-bit opcode; 0 is a standard query.
    pub fn opcode(&self) -> u8 {
        ((self.flags() >> flag::OPCODE_SHIFT) & 0x0f) as u8
    }

    /// AA: the responding server is an authority for the name.
    pub fn authoritative(&self) -> bool {
        self.flags() & flag::AA != 0
    }

    /// TC: the message was cut to fit the transport.
    pub fn truncated(&self) -> bool {
        self.flags() & flag::TC != 0
    }

    /// RD: the query asks for recursion.
    pub fn recursion_desired(&self) -> bool {
        self.flags() & flag::RD != 0
    }

    /// RA: the server offers recursion.
    pub fn recursion_available(&self) -> bool {
        self.flags() & flag::RA != 0
    }

    pub fn rcode(&self) -> Rcode {
        Rcode::from((self.flags() & flag::RCODE) as u8)
    }

    pub fn question_count(&self) -> u16 {
        self.header_u16(field::QDCOUNT)
    }

    pub fn answer_count(&self) -> u16 {
        self.header_u16(field::ANCOUNT)
    }

    pub fn authority_count(&self) -> u16 {
        self.header_u16(field::NSCOUNT)
    }

    pub fn additional_count(&self) -> u16 {
        self.header_u16(field::ARCOUNT)
    }

    pub fn questions(&self) -> Questions<'a> {
        Questions { msg: self.bytes, at: HEADER_LEN, remaining: self.question_count() }
    }

    pub fn answers(&self) -> Records<'a> {
        Records { msg: self.bytes, at: self.answers_at, remaining: self.answer_count() }
    }

    pub fn authorities(&self) -> Records<'a> {
        Records { msg: self.bytes, at: self.authorities_at, remaining: self.authority_count() }
    }

    pub fn additionals(&self) -> Records<'a> {
        Records { msg: self.bytes, at: self.additionals_at, remaining: self.additional_count() }
    }
}

/// tcpdump's one-line summary, for example `4660+ A? example.com. (29)` for a query and
/// `4660 2/0/0 CNAME example.com., A 93.184.216.34 (63)` for a response.
impl fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flags = self.flags();
        let set = |bit: u16, text: &'static str| if flags & bit != 0 { text } else { "" };
        write!(f, "{}{}", self.id(), Opcode(self.opcode()))?;
        if self.is_response() {
            if self.rcode() != Rcode::NoError {
                write!(f, " {}", self.rcode())?;
            }
            let no_recursion = if flags & flag::RA == 0 { "-" } else { "" };
            write!(f, "{}{}{}{}", set(flag::AA, "*"), no_recursion, set(flag::TC, "|"), set(flag::AD, "$"))?;
            if self.question_count() != 1 {
                write!(f, " [{}q]", self.question_count())?;
            }
            write!(f, " {}/{}/{}", self.answer_count(), self.authority_count(), self.additional_count())?;
            for (i, record) in self.answers().enumerate() {
                f.write_str(if i == 0 { " " } else { ", " })?;
                write!(f, "{}", RecordType(record.rtype))?;
                match record.data {
                    RecordData::A(addr) => write!(f, " {addr}")?,
                    RecordData::Cname(name) => write!(f, " {}", AbsoluteName(name))?,
                    RecordData::Other(_) => {}
                }
            }
        } else {
            write!(f, "{}{}", set(flag::RD, "+"), set(flag::CD, "%"))?;
            if self.answer_count() != 0 {
                write!(f, " [{}a]", self.answer_count())?;
            }
            if self.question_count() != 1 {
                write!(f, " [{}q]", self.question_count())?;
            }
            if self.authority_count() != 0 {
                write!(f, " [{}n]", self.authority_count())?;
            }
            if self.additional_count() != 0 {
                write!(f, " [{}au]", self.additional_count())?;
            }
            for question in self.questions() {
                write!(f, " {}? {}", RecordType(question.qtype), AbsoluteName(question.name))?;
            }
        }
        write!(f, " ({})", self.bytes.len())
    }
}

/// tcpdump's opcode notation: nothing for a standard query.
struct Opcode(u8);

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            1 => f.write_str(" inv_q"),
            2 => f.write_str(" stat"),
            4 => f.write_str(" notify"),
            5 => f.write_str(" update"),
            other => write!(f, " op{other}"),
        }
    }
}

/// A record type by its mnemonic (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891).
struct RecordType(u16);

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            TYPE_A => "A",
            2 => "NS",
            TYPE_CNAME => "CNAME",
            6 => "SOA",
            12 => "PTR",
            15 => "MX",
            16 => "TXT",
            28 => "AAAA",
            33 => "SRV",
            41 => "OPT",
            255 => "ANY",
            other => return write!(f, "Type{other}"),
        };
        f.write_str(name)
    }
}

/// A name written with its trailing dot, as tcpdump and zone files do.
struct AbsoluteName<'a>(Name<'a>);

impl fmt::Display for AbsoluteName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_root() {
            f.write_str(".")
        } else {
            write!(f, "{}.", self.0)
        }
    }
}

/// A domain name inside a validated message, possibly compressed (RFC 1035 §4.1.4).
#[derive(Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    start: usize,
}

impl<'a> Name<'a> {
    /// The labels from the leftmost, following compression pointers; the root label is
    /// not yielded.
    pub fn labels(&self) -> Labels<'a> {
        Labels { msg: self.msg, pos: self.start, segment_start: self.start, hops: 0 }
    }

    /// The root name (`.`), with no labels.
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// The uncompressed wire length, at most [`MAX_NAME_LEN`].
    pub fn encoded_len(&self) -> usize {
        1 + self.labels().map(|label| 1 + label.len()).sum::<usize>()
    }

    /// RFC 4343: compares with a dotted name, ignoring ASCII case; the trailing dot is
    /// optional, and `""` or `"."` is the root. There are no escapes: a label holding a
    /// dot never matches.
    pub fn eq_str(&self, name: &str) -> bool {
        let name = name.strip_suffix('.').unwrap_or(name);
        let mut labels = self.labels();
        if !name.is_empty() {
            for part in name.split('.') {
                match labels.next() {
                    Some(label) if label.eq_ignore_ascii_case(part.as_bytes()) => {}
                    _ => return false,
                }
            }
        }
        labels.next().is_none()
    }

    /// Writes the name uncompressed; `out` must hold [`encoded_len`](Self::encoded_len).
    fn write_uncompressed(&self, out: &mut [u8]) -> usize {
        let mut at = 0;
        for label in self.labels() {
            out[at] = label.len() as u8;
            out[at + 1..at + 1 + label.len()].copy_from_slice(label);
            at += 1 + label.len();
        }
        out[at] = 0;
        at + 1
    }
}

/// RFC 4343: names are equal when their labels are, ignoring ASCII case.
impl PartialEq for Name<'_> {
    fn eq(&self, other: &Name<'_>) -> bool {
        let mut theirs = other.labels();
        for label in self.labels() {
            match theirs.next() {
                Some(other) if label.eq_ignore_ascii_case(other) => {}
                _ => return false,
            }
        }
        theirs.next().is_none()
    }
}

impl Eq for Name<'_> {}

/// Dotted, without the trailing dot (`example.com`); the root is `.`. Dots and
/// backslashes inside labels are escaped as `\.` and `\\`, other bytes outside printable
/// ASCII as `\DDD` (RFC 1035 §5.1).
impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str(".");
        }
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &byte in label {
                match byte {
                    b'.' | b'\\' => write!(f, "\\{}", char::from(byte))?,
                    0x21..=0x7e => write!(f, "{}", char::from(byte))?,
                    _ => write!(f, "\\{byte:03}")?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name(\"{self}\")")
    }
}

/// The labels of a [`Name`].
#[derive(Clone, Debug)]
pub struct Labels<'a> {
    msg: &'a [u8],
    pos: usize,
    /// Where the labels being read start: a pointer must target an offset before it.
    segment_start: usize,
    hops: usize,
}

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The name was validated by `check_name`; the guards only keep this total.
        loop {
            let &len = self.msg.get(self.pos)?;
            match len >> 6 {
                0b00 if len == 0 => return None,
                0b00 => {
                    let start = self.pos + 1;
                    let label = self.msg.get(start..start + usize::from(len))?;
                    self.pos = start + usize::from(len);
                    return Some(label);
                }
                0b11 => {
                    let &low = self.msg.get(self.pos + 1)?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3f, low]));
                    self.hops += 1;
                    if target >= self.segment_start || self.hops > MAX_POINTER_HOPS {
                        self.pos = self.msg.len();
                        return None;
                    }
                    self.pos = target;
                    self.segment_start = target;
                }
                _ => return None,
            }
        }
    }
}

/// An entry of the question section (RFC 1035 §4.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub qtype: u16,
    pub qclass: u16,
}

/// A resource record (RFC 1035 §4.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub name: Name<'a>,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub data: RecordData<'a>,
}

/// The decoded data of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordData<'a> {
    /// Type A, class IN.
    A(Ipv4Addr),
    /// Type CNAME.
    Cname(Name<'a>),
    /// Anything else, undecoded.
    Other(&'a [u8]),
}

/// The question section of a [`Message`].
#[derive(Clone, Debug)]
pub struct Questions<'a> {
    msg: &'a [u8],
    at: usize,
    remaining: u16,
}

impl<'a> Iterator for Questions<'a> {
    type Item = Question<'a>;

    fn next(&mut self) -> Option<Question<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let name = Name { msg: self.msg, start: self.at };
        let end = skip_name(self.msg, self.at)?;
        let question =
            Question { name, qtype: read_u16(self.msg, end)?, qclass: read_u16(self.msg, end + 2)? };
        self.at = end + 4;
        self.remaining -= 1;
        Some(question)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.remaining)))
    }
}

/// The records of one section of a [`Message`].
#[derive(Clone, Debug)]
pub struct Records<'a> {
    msg: &'a [u8],
    at: usize,
    remaining: u16,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let msg = self.msg;
        let name = Name { msg, start: self.at };
        let at = skip_name(msg, self.at)?;
        let rtype = read_u16(msg, at)?;
        let class = read_u16(msg, at + 2)?;
        let ttl = read_u32(msg, at + 4)?;
        let data_start = at + 10;
        let data_end = data_start + usize::from(read_u16(msg, at + 8)?);
        let bytes = msg.get(data_start..data_end)?;
        let data = match (rtype, bytes) {
            (TYPE_A, &[a, b, c, d]) if class == CLASS_IN => RecordData::A(Ipv4Addr::new(a, b, c, d)),
            (TYPE_CNAME, _) => RecordData::Cname(Name { msg, start: data_start }),
            _ => RecordData::Other(bytes),
        };
        self.at = data_end;
        self.remaining -= 1;
        Some(Record { name, rtype, class, ttl, data })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.remaining)))
    }
}

/// The uncompressed wire length of a dotted name, validating it: labels of 1 to 63
/// letters, digits, hyphens or underscores (RFC 1035 §2.3.1, with RFC 2782's `_`), a
/// trailing dot optional, at most 255 bytes encoded. `"."` is the root.
fn encoded_name_len(name: &str) -> Result<usize> {
    if name == "." {
        return Ok(1);
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(Error::Malformed);
    }
    let mut len = 1;
    for label in name.split('.') {
        let valid = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
        if label.is_empty() || label.len() > MAX_LABEL_LEN || !label.bytes().all(valid) {
            return Err(Error::Malformed);
        }
        len += 1 + label.len();
    }
    if len > MAX_NAME_LEN {
        return Err(Error::Malformed);
    }
    Ok(len)
}

/// Writes a name `encoded_name_len` accepted; `out` must hold its length.
fn write_name(out: &mut [u8], name: &str) -> usize {
    let mut at = 0;
    let name = name.strip_suffix('.').unwrap_or(name);
    for label in name.split('.').filter(|label| !label.is_empty()) {
        out[at] = label.len() as u8;
        out[at + 1..at + 1 + label.len()].copy_from_slice(label.as_bytes());
        at += 1 + label.len();
    }
    out[at] = 0;
    at + 1
}

fn write_header(out: &mut [u8], id: u16, flags: u16, counts: [u16; 4]) {
    out[field::ID].copy_from_slice(&id.to_be_bytes());
    out[field::FLAGS].copy_from_slice(&flags.to_be_bytes());
    for (range, count) in
        [field::QDCOUNT, field::ANCOUNT, field::NSCOUNT, field::ARCOUNT].into_iter().zip(counts)
    {
        out[range].copy_from_slice(&count.to_be_bytes());
    }
}

/// The length of the query [`emit_query`] builds for `name`.
pub fn query_len(name: &str) -> Result<usize> {
    Ok(HEADER_LEN + encoded_name_len(name)? + 4)
}

/// Writes a standard query with RD set for `name` (class IN) and returns its length.
/// An invalid name is [`Error::Malformed`]; a `buf` shorter than [`query_len`] is
/// [`Error::Truncated`].
pub fn emit_query(buf: &mut [u8], id: u16, name: &str, qtype: u16) -> Result<usize> {
    let len = query_len(name)?;
    let out = buf.get_mut(..len).ok_or(Error::Truncated)?;
    write_header(out, id, flag::RD, [1, 0, 0, 0]);
    let at = HEADER_LEN + write_name(&mut out[HEADER_LEN..], name);
    out[at..at + 2].copy_from_slice(&qtype.to_be_bytes());
    out[at + 2..at + 4].copy_from_slice(&CLASS_IN.to_be_bytes());
    Ok(len)
}

/// Writes the answer to `query` and returns its length: the query's id, opcode, RD and
/// first question (its name uncompressed), AA and RA set, `rcode`, and one A record of
/// class IN per `(address, ttl)`, owned by the question's name through the pointer
/// `0xc00c`. Answers without a question to point at, more than 65535 answers or an rcode
/// above 15 are [`Error::Malformed`]; a `buf` too short is [`Error::Truncated`].
pub fn emit_response(
    buf: &mut [u8],
    query: &Message,
    rcode: Rcode,
    answers: &[(Ipv4Addr, u32)],
) -> Result<usize> {
    const ANSWER_LEN: usize = 16;
    let rcode = u16::from(u8::from(rcode));
    let question = query.questions().next();
    if rcode > flag::RCODE || (question.is_none() && !answers.is_empty()) {
        return Err(Error::Malformed);
    }
    let answer_count = u16::try_from(answers.len()).map_err(|_| Error::Malformed)?;
    let question_len = question.map_or(0, |q| q.name.encoded_len() + 4);
    let len = HEADER_LEN + question_len + answers.len() * ANSWER_LEN;
    let out = buf.get_mut(..len).ok_or(Error::Truncated)?;

    let flags = flag::QR
        | u16::from(query.opcode()) << flag::OPCODE_SHIFT
        | flag::AA
        | (query.flags() & flag::RD)
        | flag::RA
        | rcode;
    write_header(out, query.id(), flags, [u16::from(question.is_some()), answer_count, 0, 0]);
    let mut at = HEADER_LEN;
    if let Some(question) = question {
        at += question.name.write_uncompressed(&mut out[at..]);
        out[at..at + 2].copy_from_slice(&question.qtype.to_be_bytes());
        out[at + 2..at + 4].copy_from_slice(&question.qclass.to_be_bytes());
        at += 4;
    }
    for (&(addr, ttl), record) in answers.iter().zip(out[at..].chunks_exact_mut(ANSWER_LEN)) {
        record[0..2].copy_from_slice(&POINTER_TO_QUESTION);
        record[2..4].copy_from_slice(&TYPE_A.to_be_bytes());
        record[4..6].copy_from_slice(&CLASS_IN.to_be_bytes());
        record[6..10].copy_from_slice(&ttl.to_be_bytes());
        record[10..12].copy_from_slice(&4u16.to_be_bytes());
        record[12..16].copy_from_slice(&addr.octets());
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Messages crafted with scapy 2.5; `tcpdump -nn` prints each as its `*_TEXT` line.

    /// `DNS(id=0x1234, rd=1, qd=DNSQR(qname='example.com'))`
    const QUERY: &str = "123401000001000000000000076578616d706c6503636f6d0000010001";
    const QUERY_TEXT: &str = "4660+ A? example.com. (29)";
    /// `DNS(id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname='www.example.com'),
    /// an=DNSRR(rrname='www.example.com', type='CNAME', rdata='example.com', ttl=300)
    ///   / DNSRR(rrname='example.com', type='A', rdata='93.184.216.34', ttl=3600)).compress()`:
    /// the CNAME's owner is `c00c`, its data and the A record's owner are `c010`.
    const CNAME_RESPONSE: &str = "12348180000100020000000003777777076578616d706c6503636f6d0000010001\
        c00c000500010000012c0002c010c0100001000100000e1000045db8d822";
    const CNAME_RESPONSE_TEXT: &str = "4660 2/0/0 CNAME example.com., A 93.184.216.34 (63)";
    /// `DNS(id=0x1234, qr=1, aa=1, rd=1, ra=1, qd=DNSQR(qname='example.com'),
    /// an=DNSRR(rrname='example.com', type='A', rdata='93.184.216.34', ttl=60)
    ///   / DNSRR(rrname='example.com', type='A', rdata='10.1.2.3', ttl=60)).compress()`
    const A_RESPONSE: &str = "123485800001000200000000076578616d706c6503636f6d0000010001\
        c00c000100010000003c00045db8d822c00c000100010000003c00040a010203";
    const A_RESPONSE_TEXT: &str = "4660* 2/0/0 A 93.184.216.34, A 10.1.2.3 (61)";
    /// `DNS(id=7, rd=1, qd=DNSQR(qname='nope.test'))`
    const NX_QUERY: &str = "000701000001000000000000046e6f706504746573740000010001";
    /// `DNS(id=7, qr=1, aa=1, rd=1, ra=1, rcode=3, qd=DNSQR(qname='nope.test'))`
    const NX_RESPONSE: &str = "000785830001000000000000046e6f706504746573740000010001";
    const NX_RESPONSE_TEXT: &str = "7 NXDomain* 0/0/0 (27)";
    /// `DNS(id=0xbeef, rd=0, qd=DNSQR(qname='Mail.Example.ORG', qtype='AAAA'))`
    const AAAA_QUERY: &str = "beef00000001000000000000044d61696c074578616d706c65034f524700001c0001";
    const AAAA_QUERY_TEXT: &str = "48879 AAAA? Mail.Example.ORG. (34)";

    fn h(hex: &str) -> Vec<u8> {
        hex::decode(hex).unwrap()
    }

    #[test]
    fn query_known_answer() {
        let bytes = h(QUERY);
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.id(), 0x1234);
        assert!(!msg.is_response() && msg.recursion_desired());
        assert!(!msg.authoritative() && !msg.truncated() && !msg.recursion_available());
        assert_eq!(msg.opcode(), 0);
        assert_eq!(msg.rcode(), Rcode::NoError);
        assert_eq!(msg.as_bytes(), &bytes[..]);
        let questions: Vec<_> = msg.questions().collect();
        assert_eq!(questions.len(), 1);
        assert!(questions[0].name.eq_str("example.com"));
        assert!(questions[0].name.eq_str("EXAMPLE.com."));
        assert!(!questions[0].name.eq_str("example.co"));
        assert!(!questions[0].name.eq_str("www.example.com"));
        assert!(!questions[0].name.eq_str("example"));
        assert_eq!(questions[0].name.to_string(), "example.com");
        assert_eq!(questions[0].name.encoded_len(), 13);
        assert_eq!((questions[0].qtype, questions[0].qclass), (TYPE_A, CLASS_IN));
        assert_eq!(msg.answers().count() + msg.authorities().count() + msg.additionals().count(), 0);
        assert_eq!(msg.to_string(), QUERY_TEXT);

        let mut out = [0u8; 64];
        let len = emit_query(&mut out, 0x1234, "example.com", TYPE_A).unwrap();
        assert_eq!(hex::encode(&out[..len]), QUERY);
        assert_eq!(query_len("example.com."), Ok(len));
    }

    #[test]
    fn cname_response_known_answer() {
        let bytes = h(CNAME_RESPONSE);
        let msg = Message::parse(&bytes).unwrap();
        assert!(msg.is_response() && msg.recursion_desired() && msg.recursion_available());
        assert!(!msg.authoritative() && !msg.truncated());
        assert_eq!(msg.rcode(), Rcode::NoError);
        assert_eq!((msg.question_count(), msg.answer_count()), (1, 2));
        let question = msg.questions().next().unwrap();
        assert!(question.name.eq_str("www.example.com"));
        let answers: Vec<_> = msg.answers().collect();
        assert_eq!(answers.len(), 2);

        let cname = answers[0];
        assert!(cname.name.eq_str("www.example.com"));
        assert_eq!(cname.name, question.name);
        assert_eq!((cname.rtype, cname.class, cname.ttl), (TYPE_CNAME, CLASS_IN, 300));
        let RecordData::Cname(target) = cname.data else { panic!("{:?}", cname.data) };
        assert!(target.eq_str("example.com"));
        assert_eq!(target.labels().collect::<Vec<_>>(), [&b"example"[..], b"com"]);

        let a = answers[1];
        assert_eq!(a.name, target);
        assert_eq!(a.name.to_string(), "example.com");
        assert_eq!((a.rtype, a.class, a.ttl), (TYPE_A, CLASS_IN, 3600));
        assert_eq!(a.data, RecordData::A(Ipv4Addr::new(93, 184, 216, 34)));
        assert_ne!(a.name, cname.name);
        assert_eq!(msg.to_string(), CNAME_RESPONSE_TEXT);
    }

    #[test]
    fn emit_response_known_answer() {
        let query = h(QUERY);
        let query = Message::parse(&query).unwrap();
        let mut out = [0u8; 128];
        let answers = [(Ipv4Addr::new(93, 184, 216, 34), 60), (Ipv4Addr::new(10, 1, 2, 3), 60)];
        let len = emit_response(&mut out, &query, Rcode::NoError, &answers).unwrap();
        assert_eq!(hex::encode(&out[..len]), A_RESPONSE);
        let msg = Message::parse(&out[..len]).unwrap();
        assert_eq!(msg.to_string(), A_RESPONSE_TEXT);
        let parsed: Vec<_> = msg
            .answers()
            .map(|r| match r.data {
                RecordData::A(addr) if r.name.eq_str("example.com") => (addr, r.ttl),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(parsed, answers);

        let query = h(NX_QUERY);
        let query = Message::parse(&query).unwrap();
        let len = emit_response(&mut out, &query, Rcode::NxDomain, &[]).unwrap();
        assert_eq!(hex::encode(&out[..len]), NX_RESPONSE);
        let msg = Message::parse(&out[..len]).unwrap();
        assert_eq!(msg.rcode(), Rcode::NxDomain);
        assert!(msg.authoritative());
        assert_eq!(msg.to_string(), NX_RESPONSE_TEXT);
    }

    #[test]
    fn emit_response_limits() {
        let bytes = h(QUERY);
        let query = Message::parse(&bytes).unwrap();
        let answers = [(Ipv4Addr::LOCALHOST, 1); 3];
        let mut out = [0u8; 128];
        let len = emit_response(&mut out, &query, Rcode::NoError, &answers).unwrap();
        for short in 0..len {
            assert_eq!(
                emit_response(&mut out[..short], &query, Rcode::NoError, &answers),
                Err(Error::Truncated)
            );
        }
        assert_eq!(emit_response(&mut out, &query, Rcode::Other(16), &[]), Err(Error::Malformed));
        let len = emit_response(&mut out, &query, Rcode::Other(9), &[]).unwrap();
        assert_eq!(Message::parse(&out[..len]).unwrap().rcode(), Rcode::Other(9));
        // A query without a question gets an answerless reply, and nothing to point at.
        let empty = h("abcd01000000000000000000");
        let empty = Message::parse(&empty).unwrap();
        assert_eq!(emit_response(&mut out, &empty, Rcode::NoError, &answers), Err(Error::Malformed));
        let len = emit_response(&mut out, &empty, Rcode::FormErr, &[]).unwrap();
        assert_eq!(hex::encode(&out[..len]), "abcd85810000000000000000");
    }

    #[test]
    fn aaaa_query_keeps_case() {
        let bytes = h(AAAA_QUERY);
        let msg = Message::parse(&bytes).unwrap();
        assert!(!msg.recursion_desired());
        let question = msg.questions().next().unwrap();
        assert_eq!(question.qtype, 28);
        assert_eq!(question.name.to_string(), "Mail.Example.ORG");
        assert!(question.name.eq_str("mail.example.org"));
        assert_eq!(msg.to_string(), AAAA_QUERY_TEXT);
        let mut out = [0u8; 64];
        let len = emit_query(&mut out, 0xbeef, "Mail.Example.ORG", 28).unwrap();
        // Our queries always ask for recursion; everything else matches.
        assert_eq!(out[3], 0x00);
        assert_eq!(out[2], 0x01);
        assert_eq!(out[..2], bytes[..2]);
        assert_eq!(out[4..len], bytes[4..]);
    }

    #[test]
    fn truncated_at_every_offset() {
        for hex in [QUERY, CNAME_RESPONSE, A_RESPONSE, NX_RESPONSE, AAAA_QUERY] {
            let bytes = h(hex);
            for len in 0..bytes.len() {
                assert_eq!(Message::parse(&bytes[..len]).unwrap_err(), Error::Truncated, "{hex} at {len}");
            }
        }
    }

    #[test]
    fn trailing_bytes_tolerated() {
        let mut bytes = h(CNAME_RESPONSE);
        let len = bytes.len();
        bytes.extend_from_slice(&[0xff; 7]);
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.as_bytes(), &bytes[..len]);
        // tcpdump counts the whole UDP payload.
        assert!(msg.to_string().ends_with(" (70)"));
        assert_eq!(msg.answers().count(), 2);
    }

    #[test]
    fn counts_beyond_bytes() {
        let mut bytes = h(QUERY);
        bytes[5] = 2;
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Truncated);
        let mut bytes = h(CNAME_RESPONSE);
        bytes[11] = 1;
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Truncated);
        bytes[11] = 0;
        bytes[4..12].copy_from_slice(&[0xff; 8]);
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Truncated);
    }

    /// A message with one question whose name is `name` (raw bytes), type A, class IN.
    fn with_question_name(name: &[u8]) -> Vec<u8> {
        let mut bytes = h("000100000001000000000000");
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&[0, 1, 0, 1]);
        bytes
    }

    #[test]
    fn compression_loops_rejected() {
        // A pointer to itself.
        assert_eq!(Message::parse(&with_question_name(&[0xc0, 12])).unwrap_err(), Error::Malformed);
        // `a` then a pointer back to the start of the same name: backwards from the pointer,
        // but a loop.
        assert_eq!(Message::parse(&with_question_name(&[1, b'a', 0xc0, 12])).unwrap_err(), Error::Malformed);
        // The same loop through a second name (`a` points on to `b`, which points back to
        // `a`): some pointer of any loop points forwards.
        let mut bytes = h("000100000002000000000000");
        bytes.extend_from_slice(&[1, b'a', 0xc0, 18, 0, 1, 0, 1, 1, b'b', 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Malformed);
        // Two names pointing at each other: one of the pointers points forwards.
        let mut bytes = h("000100000002000000000000");
        bytes.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn forward_and_header_pointers_rejected() {
        // A pointer forward to a valid name further on.
        let mut bytes = h("000100000002000000000000");
        bytes.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1, 1, b'a', 0, 0, 1, 0, 1]);
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Malformed);
        // A pointer into the header.
        assert_eq!(Message::parse(&with_question_name(&[0xc0, 4])).unwrap_err(), Error::Malformed);
        // Label types 01 and 10.
        assert_eq!(Message::parse(&with_question_name(&[0x41, 0])).unwrap_err(), Error::Malformed);
        assert_eq!(Message::parse(&with_question_name(&[0x81, 0])).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn pointer_hop_limit() {
        // Question k's name is a pointer to question k-1's: the last of n questions needs
        // n - 1 hops. The first is the root.
        let chain = |questions: u16| {
            let mut bytes = h("000100000000000000000000");
            bytes[4..6].copy_from_slice(&questions.to_be_bytes());
            bytes.extend_from_slice(&[0, 0, 1, 0, 1]);
            let mut previous = HEADER_LEN as u16;
            for _ in 1..questions {
                let at = bytes.len() as u16;
                bytes.extend_from_slice(&(0xc000 | previous).to_be_bytes());
                bytes.extend_from_slice(&[0, 1, 0, 1]);
                previous = at;
            }
            bytes
        };
        let bytes = chain(MAX_POINTER_HOPS as u16 + 1);
        let msg = Message::parse(&bytes).unwrap();
        let last = msg.questions().last().unwrap();
        assert!(last.name.is_root() && last.name.eq_str(".") && last.name.eq_str(""));
        assert_eq!(last.name.to_string(), ".");
        assert_eq!(Message::parse(&chain(MAX_POINTER_HOPS as u16 + 2)).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn oversize_names_rejected() {
        // 4 labels of 63 bytes: 4 * 64 + 1 = 257 bytes.
        let label = [&[63u8][..], &[b'a'; 63]].concat();
        let name: Vec<u8> = [label.repeat(4), vec![0]].concat();
        assert_eq!(Message::parse(&with_question_name(&name)).unwrap_err(), Error::Malformed);
        // 3 labels of 63 and one of 61: exactly 255 bytes.
        let name: Vec<u8> = [label.repeat(3), vec![61], vec![b'b'; 61], vec![0]].concat();
        assert_eq!(name.len(), MAX_NAME_LEN);
        let bytes = with_question_name(&name);
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.questions().next().unwrap().name.encoded_len(), MAX_NAME_LEN);
        // The same limit holds across pointers: 128 bytes of labels, then a pointer to a
        // name of 129 bytes: 257.
        let mut bytes = h("000100000002000000000000");
        bytes.extend_from_slice(&[label.repeat(2), vec![0, 0, 1, 0, 1]].concat());
        bytes.extend_from_slice(&[label.repeat(2), vec![0xc0, 12, 0, 1, 0, 1]].concat());
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn record_data_rules() {
        let response = h(CNAME_RESPONSE);
        // The A record's data length (offsets 57-58) set to 5, with one more byte: Malformed.
        let mut bytes = response.clone();
        bytes[58] = 5;
        bytes.push(0);
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Malformed);
        // Class CH (3): A data is no longer 4 bytes by definition; kept undecoded.
        bytes[52] = 3;
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.answers().nth(1).unwrap().data, RecordData::Other(&[0x5d, 0xb8, 0xd8, 0x22, 0]));
        // The CNAME's data length (offsets 43-44) longer than its name: Malformed.
        let mut bytes = response.clone();
        bytes[44] = 3;
        assert_eq!(Message::parse(&bytes).unwrap_err(), Error::Malformed);
        // Other types are kept as raw bytes.
        let mut bytes = response.clone();
        bytes[50] = 16; // TXT
        let msg = Message::parse(&bytes).unwrap();
        let txt = msg.answers().nth(1).unwrap();
        assert_eq!(txt.data, RecordData::Other(&[0x5d, 0xb8, 0xd8, 0x22]));
        assert_eq!(msg.to_string(), "4660 2/0/0 CNAME example.com., TXT (63)");
    }

    #[test]
    fn query_name_validation() {
        let mut out = [0u8; 512];
        let label63 = "a".repeat(63);
        assert!(emit_query(&mut out, 1, &label63, TYPE_A).is_ok());
        assert_eq!(emit_query(&mut out, 1, &"a".repeat(64), TYPE_A), Err(Error::Malformed));
        // 3 x 63 + 61 with dots: 255 bytes encoded.
        let longest = format!("{label63}.{label63}.{label63}.{}", "b".repeat(61));
        assert_eq!(query_len(&longest), Ok(HEADER_LEN + MAX_NAME_LEN + 4));
        assert_eq!(query_len(&format!("{longest}.")), Ok(HEADER_LEN + MAX_NAME_LEN + 4));
        assert_eq!(query_len(&format!("{longest}b")), Err(Error::Malformed));
        for bad in ["", "..", "a..b", ".a", "a b", "a.b/c", "ex@mple.com", "é.com", "a.\\.b"] {
            assert_eq!(emit_query(&mut out, 1, bad, TYPE_A), Err(Error::Malformed), "{bad:?}");
        }
        for good in ["_sip._udp.example.com", "xn--bcher-kva.example", "a-1.B-2.", "localhost", "."] {
            let len = emit_query(&mut out, 1, good, TYPE_A).unwrap();
            let msg = Message::parse(&out[..len]).unwrap();
            assert!(msg.questions().next().unwrap().name.eq_str(good), "{good}");
        }
        let len = query_len("example.com").unwrap();
        for short in 0..len {
            assert_eq!(emit_query(&mut out[..short], 1, "example.com", TYPE_A), Err(Error::Truncated));
        }
    }

    #[test]
    fn name_display_escapes() {
        let bytes = with_question_name(&[4, b'a', b'.', b'\\', 0x07, 2, b'b', b' ', 0]);
        let msg = Message::parse(&bytes).unwrap();
        let name = msg.questions().next().unwrap().name;
        assert_eq!(name.to_string(), "a\\.\\\\\\007.b\\032");
        assert_eq!(format!("{name:?}"), "Name(\"a\\.\\\\\\007.b\\032\")");
        assert!(!name.eq_str("a..\\\u{7}.b "));
    }

    #[test]
    fn rcode_values() {
        for code in 0..=15u8 {
            assert_eq!(u8::from(Rcode::from(code)), code);
        }
        assert_eq!(Rcode::from(3), Rcode::NxDomain);
        assert_eq!(Rcode::NxDomain.to_string(), "NXDomain");
        assert_eq!(Rcode::Other(9).to_string(), "Resp9");
    }

    fn any_name() -> impl Strategy<Value = String> {
        proptest::collection::vec("[a-zA-Z0-9_-]{1,63}", 1..8).prop_map(|labels| {
            let mut name = String::new();
            for label in labels {
                let longer = if name.is_empty() { label } else { format!("{name}.{label}") };
                if encoded_name_len(&longer).is_err() {
                    break;
                }
                name = longer;
            }
            name
        })
    }

    proptest! {
        #[test]
        fn query_round_trip(
            id in any::<u16>(),
            name in any_name(),
            qtype in any::<u16>(),
            dot in any::<bool>(),
        ) {
            let name = if dot { format!("{name}.") } else { name };
            let mut buf = [0u8; 512];
            let len = emit_query(&mut buf, id, &name, qtype).unwrap();
            prop_assert_eq!(Ok(len), query_len(&name));
            let msg = Message::parse(&buf[..len]).unwrap();
            prop_assert_eq!(msg.id(), id);
            prop_assert!(!msg.is_response() && msg.recursion_desired());
            prop_assert_eq!(msg.question_count(), 1);
            let question = msg.questions().next().unwrap();
            prop_assert!(question.name.eq_str(&name));
            prop_assert!(question.name.eq_str(&name.to_ascii_uppercase()));
            prop_assert_eq!(question.name.to_string(), name.trim_end_matches('.'));
            prop_assert_eq!((question.qtype, question.qclass), (qtype, CLASS_IN));
        }

        #[test]
        fn response_round_trip(
            name in any_name(),
            answers in proptest::collection::vec((any::<[u8; 4]>(), any::<u32>()), 0..8),
        ) {
            let answers: Vec<_> = answers.into_iter().map(|(a, ttl)| (Ipv4Addr::from(a), ttl)).collect();
            let mut query = [0u8; 512];
            let len = emit_query(&mut query, 99, &name, TYPE_A).unwrap();
            let query = Message::parse(&query[..len]).unwrap();
            let mut buf = [0u8; 512];
            let len = emit_response(&mut buf, &query, Rcode::NoError, &answers).unwrap();
            let msg = Message::parse(&buf[..len]).unwrap();
            prop_assert!(msg.is_response() && msg.authoritative() && msg.recursion_desired());
            prop_assert_eq!(msg.id(), 99);
            prop_assert_eq!(msg.questions().next().unwrap(), query.questions().next().unwrap());
            let parsed: Vec<_> = msg.answers().map(|r| {
                prop_assert!(r.name.eq_str(&name));
                match r.data {
                    RecordData::A(addr) => Ok((addr, r.ttl)),
                    other => Err(TestCaseError::fail(format!("{other:?}"))),
                }
            }).collect::<core::result::Result<_, _>>()?;
            prop_assert_eq!(parsed, answers);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            exercise(&bytes);
        }

        #[test]
        fn never_panics_small_counts(
            mut bytes in proptest::collection::vec(any::<u8>(), 12..300),
            counts in any::<[u8; 4]>(),
        ) {
            // Small counts so the walk reaches the names and records.
            for (i, count) in counts.iter().enumerate() {
                bytes[4 + 2 * i] = 0;
                bytes[5 + 2 * i] = count % 4;
            }
            exercise(&bytes);
        }
    }

    /// Everything a caller can do with a parsed message.
    fn exercise(bytes: &[u8]) {
        let Ok(msg) = Message::parse(bytes) else { return };
        let _ = (msg.id(), msg.opcode(), msg.rcode(), msg.authoritative(), msg.truncated());
        let _ = msg.to_string();
        for question in msg.questions() {
            let _ =
                (question.name.to_string(), question.name.eq_str("example.com"), question.name.encoded_len());
            assert!(question.name.encoded_len() <= MAX_NAME_LEN);
        }
        let records = msg.answers().chain(msg.authorities()).chain(msg.additionals());
        let mut count = 0;
        for record in records {
            count += 1;
            let _ = (record.name.to_string(), record.name.labels().count());
            if let RecordData::Cname(name) = record.data {
                assert!(name.encoded_len() <= MAX_NAME_LEN);
                let _ = name == record.name;
            }
        }
        assert_eq!(
            count,
            usize::from(msg.answer_count())
                + usize::from(msg.authority_count())
                + usize::from(msg.additional_count())
        );
        assert_eq!(msg.questions().count(), usize::from(msg.question_count()));
        let mut out = [0u8; 2048];
        let _ = emit_response(&mut out, &msg, Rcode::Refused, &[(Ipv4Addr::LOCALHOST, 1)]);
    }
}
