//! `google.protobuf.Timestamp` to and from UTC instants, for every service's converters.

use time::OffsetDateTime;

/// An instant as a protobuf timestamp.
pub fn to_proto(instant: OffsetDateTime) -> prost_types::Timestamp {
    let nanos = instant.unix_timestamp_nanos();
    prost_types::Timestamp {
        seconds: i64::try_from(nanos.div_euclid(1_000_000_000)).unwrap_or(i64::MAX),
        nanos: i32::try_from(nanos.rem_euclid(1_000_000_000)).unwrap_or(0),
    }
}

/// A protobuf timestamp as a UTC instant, or `None` when it is out of range (years 1-9999) or
/// its nanos are not normalised.
pub fn from_proto(timestamp: &prost_types::Timestamp) -> Option<OffsetDateTime> {
    if !(0..1_000_000_000).contains(&timestamp.nanos) {
        return None;
    }
    // 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, as protobuf defines the range.
    if !(-62_135_596_800..=253_402_300_799).contains(&timestamp.seconds) {
        return None;
    }
    let nanos = i128::from(timestamp.seconds) * 1_000_000_000 + i128::from(timestamp.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips_including_before_the_epoch() {
        for instant in [
            datetime!(2026-02-05 00:00:00.5 UTC),
            datetime!(1969-12-31 23:59:59.25 UTC),
        ] {
            assert_eq!(from_proto(&to_proto(instant)), Some(instant));
        }
    }

    #[test]
    fn out_of_range_or_unnormalised_is_refused() {
        assert_eq!(
            from_proto(&prost_types::Timestamp {
                seconds: 0,
                nanos: -1
            }),
            None
        );
        assert_eq!(
            from_proto(&prost_types::Timestamp {
                seconds: 253_402_300_800,
                nanos: 0
            }),
            None
        );
    }
}
