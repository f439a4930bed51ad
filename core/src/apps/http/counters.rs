//! What a connection (or a worker, summed) has served.

use core::ops::AddAssign;

use super::Status;

/// Requests received and responses sent, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpCounters {
    /// Request heads parsed (a request whose head was rejected is not counted).
    pub requests: u64,
    /// Interim `100 Continue` responses.
    pub continues: u64,
    pub ok: u64,
    pub bad_request: u64,
    pub content_too_large: u64,
    pub header_fields_too_large: u64,
    pub not_implemented: u64,
    pub version_not_supported: u64,
}

impl HttpCounters {
    pub(crate) fn count_response(&mut self, status: Status) {
        let counter = match status {
            Status::Continue => &mut self.continues,
            Status::Ok => &mut self.ok,
            Status::BadRequest => &mut self.bad_request,
            Status::ContentTooLarge => &mut self.content_too_large,
            Status::HeaderFieldsTooLarge => &mut self.header_fields_too_large,
            Status::NotImplemented => &mut self.not_implemented,
            Status::VersionNotSupported => &mut self.version_not_supported,
        };
        *counter += 1;
    }

    /// Final responses (every status but 100).
    pub fn responses(&self) -> u64 {
        self.ok + self.errors()
    }

    /// Final responses with a 4xx or 5xx status.
    pub fn errors(&self) -> u64 {
        self.bad_request
            + self.content_too_large
            + self.header_fields_too_large
            + self.not_implemented
            + self.version_not_supported
    }
}

impl AddAssign for HttpCounters {
    fn add_assign(&mut self, other: HttpCounters) {
        self.requests += other.requests;
        self.continues += other.continues;
        self.ok += other.ok;
        self.bad_request += other.bad_request;
        self.content_too_large += other.content_too_large;
        self.header_fields_too_large += other.header_fields_too_large;
        self.not_implemented += other.not_implemented;
        self.version_not_supported += other.version_not_supported;
    }
}
