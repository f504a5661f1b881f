//! Cost of sealing and opening one field, and of one blind-index digest (issue 4: encrypting a
//! field must not move the processing-check benchmark by more than 5%). `cargo bench -p dps-crypto`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dps_crypto::blind::BlindIndexKey;
use dps_crypto::cipher::{open, seal};
use dps_crypto::{IdentifierKind, SecretKey};
use dps_types::TenantId;

fn fields(c: &mut Criterion) {
    let key = SecretKey::generate();
    let aad = b"dps.field.v1/acorn-care/name/0192f7a0-0000-7000-8000-000000000000";
    let mut group = c.benchmark_group("field");
    for (label, size) in [("name_32B", 32), ("note_1KiB", 1024)] {
        let plaintext = vec![b'x'; size];
        let sealed = seal(&key, aad, &plaintext);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("seal_{label}"), |b| {
            b.iter(|| seal(black_box(&key), black_box(aad), black_box(&plaintext)))
        });
        group.bench_function(format!("open_{label}"), |b| {
            b.iter(|| open(black_box(&key), black_box(aad), black_box(&sealed)).expect("opens"))
        });
    }
    group.finish();

    let index = BlindIndexKey::new(SecretKey::generate());
    let tenant = TenantId::parse("acorn-care").expect("valid");
    c.bench_function("blind_index_nhs_number", |b| {
        b.iter(|| {
            index
                .digest(
                    black_box(&tenant),
                    IdentifierKind::NhsNumber,
                    black_box("943 476 5919"),
                )
                .expect("valid")
        })
    });
}

criterion_group!(benches, fields);
criterion_main!(benches);
