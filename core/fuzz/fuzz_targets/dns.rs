#![no_main]
//! DNS messages from arbitrary bytes: every accessor, iterator and `Display`. A parsed
//! message is answered with `emit_response` and its question re-asked with `emit_query`,
//! and both are parsed again.

use libfuzzer_sys::fuzz_target;
use sluice_core::wire::dns::{emit_query, emit_response, Message, RecordData, MAX_NAME_LEN};
use sluice_core::wire::{Error, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = Message::parse(data) else { return };
    let _ = (msg.id(), msg.is_response(), msg.opcode(), msg.authoritative(), msg.truncated());
    let _ = (msg.recursion_desired(), msg.recursion_available(), msg.rcode().to_string());
    let _ = (msg.as_bytes(), msg.to_string());

    assert_eq!(msg.questions().count(), usize::from(msg.question_count()));
    for question in msg.questions() {
        let name = question.name;
        assert!(name.encoded_len() <= MAX_NAME_LEN);
        let text = name.to_string();
        let _ = (name.labels().count(), name.is_root(), name.eq_str(&text), format!("{name:?}"));
    }
    let sections = [
        (msg.answers(), msg.answer_count()),
        (msg.authorities(), msg.authority_count()),
        (msg.additionals(), msg.additional_count()),
    ];
    for (records, count) in sections {
        let mut seen = 0;
        for record in records {
            seen += 1;
            assert!(record.name.encoded_len() <= MAX_NAME_LEN);
            let _ = (record.name.to_string(), record.rtype, record.class, record.ttl);
            match record.data {
                RecordData::A(addr) => assert_eq!(record.rtype, 1, "{addr}"),
                RecordData::Cname(name) => {
                    assert!(name.encoded_len() <= MAX_NAME_LEN);
                    let _ = (name.to_string(), name == record.name);
                }
                RecordData::Other(bytes) => {
                    let _ = bytes.len();
                }
            }
        }
        assert_eq!(seen, usize::from(count));
    }

    let mut buf = [0u8; 1024];
    let answers = [(Ipv4Addr::new(192, 0, 2, 1), 300), (Ipv4Addr::new(198, 51, 100, 7), 0)];
    match emit_response(&mut buf, &msg, msg.rcode(), &answers) {
        Ok(len) => {
            let reply = Message::parse(&buf[..len]).unwrap();
            assert!(reply.is_response() && reply.authoritative());
            assert_eq!((reply.id(), reply.opcode(), reply.rcode()), (msg.id(), msg.opcode(), msg.rcode()));
            assert_eq!(reply.questions().next(), msg.questions().next());
            let got: Vec<_> = reply
                .answers()
                .map(|record| match record.data {
                    RecordData::A(addr) => (addr, record.ttl),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(got, answers);
        }
        Err(error) => assert!(msg.question_count() == 0 && error == Error::Malformed),
    }

    if let Some(question) = msg.questions().next() {
        let name = question.name.to_string();
        // Names with escapes or characters outside hostnames are not ours to ask.
        if let Ok(len) = emit_query(&mut buf, msg.id(), &name, question.qtype) {
            let query = Message::parse(&buf[..len]).unwrap();
            let asked = query.questions().next().unwrap();
            assert_eq!((asked.name, asked.qtype), (question.name, question.qtype));
            assert!(asked.name.eq_str(&name));
        }
    }
});
