//! Name resolution: the `gethostbyname` of the seeds, as a stub resolver over UDP.

mod resolver;

pub use resolver::{DnsError, QueryHandle, Resolver, ResolverConfig};
