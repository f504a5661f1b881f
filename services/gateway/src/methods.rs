//! What the gateway knows of each method from the compiled protos: whether either side streams,
//! and which top-level fields of its request name resources (`name`, `parent`), read for the
//! audit row without decoding anything else.

use std::collections::HashMap;

use prost::Message as _;
use prost_types::field_descriptor_proto::Type;

use crate::policy;

/// Names at most this many resources per call in the audit row.
const MAX_NAMES: usize = 8;
/// A resource name longer than this is not one of ours.
const MAX_NAME_BYTES: usize = 256;

/// One method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodInfo {
    /// The caller streams messages.
    pub client_streaming: bool,
    /// The service streams messages.
    pub server_streaming: bool,
    /// Field numbers of the request's top-level `name` and `parent` strings.
    pub resource_fields: Vec<u32>,
}

impl MethodInfo {
    /// The resource names in one uncompressed gRPC frame (`flag, length, message`). Anything
    /// that does not parse yields no names: the audit row must never fail on a message.
    pub fn resource_names(&self, frame: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        if self.resource_fields.is_empty() || frame.len() < 5 || frame[0] != 0 {
            return names;
        }
        let mut message = &frame[5..];
        while let Some((field, wire_type)) = varint(&mut message).map(|k| (k >> 3, k & 7)) {
            let value: &[u8] = match wire_type {
                0 => {
                    if varint(&mut message).is_none() {
                        break;
                    }
                    continue;
                }
                1 | 5 => {
                    let n = if wire_type == 1 { 8 } else { 4 };
                    if message.len() < n {
                        break;
                    }
                    message = &message[n..];
                    continue;
                }
                2 => {
                    let Some(len) = varint(&mut message).and_then(|l| usize::try_from(l).ok())
                    else {
                        break;
                    };
                    if message.len() < len {
                        break;
                    }
                    let (value, rest) = message.split_at(len);
                    message = rest;
                    value
                }
                _ => break,
            };
            let wanted = u32::try_from(field).is_ok_and(|f| self.resource_fields.contains(&f));
            if wanted
                && value.len() <= MAX_NAME_BYTES
                && names.len() < MAX_NAMES
                && let Ok(name) = std::str::from_utf8(value)
                && !name.is_empty()
            {
                names.push(name.to_owned());
            }
        }
        names
    }
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Every method of the suite by full path (`/package.Service/Method`).
#[derive(Debug, Clone, Default)]
pub struct Methods(HashMap<String, MethodInfo>);

impl Methods {
    /// Read from the descriptor set compiled into `dps-proto`.
    pub fn from_descriptors() -> Self {
        let set = prost_types::FileDescriptorSet::decode(dps_proto::FILE_DESCRIPTOR_SET)
            .expect("dps-proto embeds a valid descriptor set");
        let mut fields: HashMap<String, Vec<u32>> = HashMap::new();
        for file in &set.file {
            for message in &file.message_type {
                let numbers = message
                    .field
                    .iter()
                    .filter(|f| f.r#type() == Type::String && matches!(f.name(), "name" | "parent"))
                    .filter_map(|f| u32::try_from(f.number()).ok())
                    .collect();
                fields.insert(format!(".{}.{}", file.package(), message.name()), numbers);
            }
        }
        let mut methods = HashMap::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    methods.insert(
                        format!("/{}.{}/{}", file.package(), service.name(), method.name()),
                        MethodInfo {
                            client_streaming: method.client_streaming(),
                            server_streaming: method.server_streaming(),
                            resource_fields: fields
                                .get(method.input_type())
                                .cloned()
                                .unwrap_or_default(),
                        },
                    );
                }
            }
        }
        for path in policy::REFLECTION {
            methods.insert(
                (*path).to_owned(),
                MethodInfo {
                    client_streaming: true,
                    server_streaming: true,
                    resource_fields: Vec::new(),
                },
            );
        }
        Self(methods)
    }

    /// The method at `path`.
    pub fn get(&self, path: &str) -> Option<&MethodInfo> {
        self.0.get(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(message: &[u8]) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    #[test]
    fn the_name_of_a_get_is_read_and_nothing_else() {
        let methods = Methods::from_descriptors();
        let get = methods
            .get("/dps.subject_requests.v1.SubjectRequestsService/GetSubjectRequest")
            .expect("known");
        assert!(!get.client_streaming && !get.server_streaming);
        let message = dps_proto::subject_requests::v1::GetSubjectRequestRequest {
            name: "subjectRequests/0193f1a4-0000-7000-8000-000000000001".into(),
        };
        assert_eq!(
            get.resource_names(&frame(&message.encode_to_vec())),
            ["subjectRequests/0193f1a4-0000-7000-8000-000000000001"]
        );
        // A compressed frame or garbage names nothing, and never panics.
        let mut compressed = frame(&message.encode_to_vec());
        compressed[0] = 1;
        assert!(get.resource_names(&compressed).is_empty());
        assert!(get.resource_names(&frame(&[0x0a, 0xff, 0xff])).is_empty());
        assert!(get.resource_names(&[]).is_empty());
        let watch = methods
            .get("/dps.subject_requests.v1.SubjectRequestsService/WatchPendingTasks")
            .expect("known");
        assert!(watch.server_streaming);
    }

    #[test]
    fn personal_fields_of_a_create_are_never_read() {
        let methods = Methods::from_descriptors();
        let create = methods
            .get("/dps.subject_requests.v1.SubjectRequestsService/CreateSubjectRequest")
            .expect("known");
        assert!(create.resource_fields.is_empty());
    }
}
