//! Cost of serving one HTTP/1.1 request in the echo server's core: the head found and
//! parsed, the response written, the output taken by the transport. The request is
//! wrk's (wrk 4.1.0 sends exactly this for `wrk http://10.0.0.2:8080/`); the pipelined
//! case is 16 of them in one segment, as `wrk -s pipeline.lua` sends.
//!
//! Also: curl's GET (more fields), a 1 KiB Content-Length echo and a chunked echo, and
//! a wrk request split across two segments (the head buffered, then parsed).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sluice_core::apps::http::{HttpEchoConfig, HttpEchoConnection};

const WRK_GET: &[u8] = b"GET / HTTP/1.1\r\nHost: 10.0.0.2:8080\r\n\r\n";
const CURL_GET: &[u8] =
    b"GET /index.html HTTP/1.1\r\nHost: 10.0.0.2:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

/// Serves `segments` (requests made of whole and split pieces) and takes the output.
fn serve(conn: &mut HttpEchoConnection, segments: &[&[u8]]) -> usize {
    let mut sent = 0;
    for segment in segments {
        let taken = conn.on_bytes(segment);
        debug_assert_eq!(taken, segment.len());
        sent += conn.output().len();
        conn.consume_output(conn.output().len());
    }
    sent
}

fn bench(c: &mut Criterion, name: &str, config: HttpEchoConfig, segments: &[&[u8]], requests: u64) {
    let mut conn = HttpEchoConnection::new(config);
    // Warm the buffers: the steady state allocates nothing.
    serve(&mut conn, segments);
    let mut group = c.benchmark_group("http");
    group.throughput(Throughput::Elements(requests));
    group.bench_function(name, |b| b.iter(|| serve(&mut conn, black_box(segments))));
    group.finish();
}

fn http(c: &mut Criterion) {
    let echo = HttpEchoConfig::default();
    bench(c, "wrk_get", echo, &[WRK_GET], 1);
    let pipelined = WRK_GET.repeat(16);
    bench(c, "wrk_get_pipelined_16", echo, &[&pipelined], 16);
    bench(c, "curl_get", echo, &[CURL_GET], 1);
    bench(c, "wrk_get_split", echo, &[&WRK_GET[..20], &WRK_GET[20..]], 1);

    let fixed = HttpEchoConfig { fixed_body: Some(64), ..echo };
    bench(c, "wrk_get_fixed_64", fixed, &[WRK_GET], 1);

    let mut post = b"POST /echo HTTP/1.1\r\nHost: 10.0.0.2:8080\r\nContent-Length: 1024\r\n\r\n".to_vec();
    post.extend((0..1024u32).map(|i| (i * 7) as u8));
    bench(c, "post_1k_echo", echo, &[&post], 1);

    let mut chunked =
        b"POST /echo HTTP/1.1\r\nHost: 10.0.0.2:8080\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..4 {
        chunked.extend_from_slice(b"100\r\n");
        chunked.extend((0..256u32).map(|i| i as u8));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    bench(c, "post_1k_chunked_echo", echo, &[&chunked], 1);
}

criterion_group!(benches, http);
criterion_main!(benches);
