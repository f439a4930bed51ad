//! Why a request was refused: each variant names the rule broken and maps to a status.

use thiserror::Error;

use super::Status;

/// A request the server refuses; the connection closes after the error response
/// (RFC 9112 §9.6: framing can no longer be trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RequestError {
    #[error("request line is not `method SP request-target SP HTTP-version` (RFC 9112 §3)")]
    RequestLine,
    #[error("method is not a token (RFC 9110 §9.1)")]
    Method,
    #[error("request-target is empty or has characters outside visible ASCII (RFC 9112 §3.2)")]
    Target,
    #[error("HTTP-version is not `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3)")]
    Version,
    #[error("only HTTP/1.x is served here (RFC 9110 §2.5)")]
    UnsupportedVersion,
    #[error("a line ends in LF without CR, or has a stray CR (RFC 9112 §2.2)")]
    LineEnding,
    #[error("field line is not `field-name \":\" OWS field-value OWS` (RFC 9112 §5)")]
    FieldLine,
    #[error("field name is empty or not a token (RFC 9110 §5.1)")]
    FieldName,
    #[error("field value contains a control character (RFC 9110 §5.5)")]
    FieldValue,
    #[error("line folding (obs-fold) is not accepted (RFC 9112 §5.2)")]
    ObsFold,
    #[error("HTTP/1.1 request without exactly one Host field (RFC 9112 §3.2)")]
    Host,
    #[error("Content-Length is not a decimal number, or its values differ (RFC 9112 §6.3)")]
    ContentLength,
    #[error("both Content-Length and Transfer-Encoding (RFC 9112 §6.3)")]
    LengthAndTransferEncoding,
    #[error("Transfer-Encoding must end in chunked, applied once (RFC 9112 §6.3, §7)")]
    TransferEncoding,
    #[error("Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)")]
    TransferEncodingInHttp10,
    #[error("transfer coding other than chunked (RFC 9112 §6.1)")]
    UnknownTransferCoding,
    #[error("chunk size is not hexadecimal (RFC 9112 §7.1)")]
    ChunkSize,
    #[error("chunk extension is malformed or too long (RFC 9112 §7.1.1)")]
    ChunkExtension,
    #[error("chunk data is not followed by CRLF (RFC 9112 §7.1)")]
    ChunkDataEnd,
    #[error("request head is larger than the configured limit")]
    HeadTooLarge,
    #[error("trailer section is larger than the configured header limit")]
    TrailersTooLarge,
    #[error("request body is larger than the configured limit")]
    BodyTooLarge,
}

impl RequestError {
    /// The status of the error response.
    pub fn status(self) -> Status {
        match self {
            RequestError::HeadTooLarge | RequestError::TrailersTooLarge => Status::HeaderFieldsTooLarge,
            RequestError::BodyTooLarge => Status::ContentTooLarge,
            RequestError::UnknownTransferCoding => Status::NotImplemented,
            RequestError::UnsupportedVersion => Status::VersionNotSupported,
            _ => Status::BadRequest,
        }
    }
}
