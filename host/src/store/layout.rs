//! The key layout a Redis Cluster needs: which keys must share a hash slot,
//! and the check that refuses a config whose keys do not.
//!
//! The settle script (see [`crate::pipeline::dispatch`]) touches, for one job, its
//! source stream, the route's targets, rejected and dead-letter streams and
//! the job's status record. A Lua script may only touch keys of one slot, so
//! on a cluster every one of those keys must hash to the source's slot. Keys
//! share a slot when they share a hash tag: the text between the first `{`
//! and the next `}` (when not empty) is all that is hashed.
//!
//! Status records are named by job id, which the front end chooses, so on a
//! cluster their key carries the source's hashed part as a tag:
//! `PREFIX{H}:JOB-ID`, where `H` is the source's hash tag, or the whole
//! source name when it has none (both hash to the source's slot). A front
//! end that knows which stream it pushed a job to can name its record.

use crate::config::RouteSettings;

/// The number of hash slots of a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// The hash slot of `key`, as Redis Cluster computes it: CRC16 (XMODEM) of
/// its hash tag, or of the whole key when it has none, modulo 16384.
pub fn slot(key: &str) -> u16 {
    crc16(hashed_part(key).as_bytes()) % SLOTS
}

/// The part of `key` Redis Cluster hashes: its hash tag when it has one,
/// else the whole key.
pub fn hashed_part(key: &str) -> &str {
    hash_tag(key).unwrap_or(key)
}

/// The hash tag of `key`: the text between its first `{` and the next `}`,
/// when that text is not empty.
pub fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')?;
    let tag = &key[open + 1..open + 1 + close];
    (!tag.is_empty()).then_some(tag)
}

/// The status record key of job `job_id` read from `source`: `PREFIX +
/// JOB-ID` on one server, `PREFIX{H}:JOB-ID` on a cluster (see the module
/// doc).
pub fn status_key(prefix: &str, tagged: bool, source: &str, job_id: &str) -> String {
    let mut key = Vec::new();
    write_status_key(&mut key, prefix, tagged, source, job_id);
    String::from_utf8(key).expect("a key made of strings is UTF-8")
}

/// [`status_key`] written into `out` (cleared first), so a batch can build
/// all its keys in one buffer.
pub fn write_status_key(out: &mut Vec<u8>, prefix: &str, tagged: bool, source: &str, job_id: &str) {
    out.clear();
    out.extend_from_slice(prefix.as_bytes());
    if tagged {
        out.push(b'{');
        out.extend_from_slice(hashed_part(source).as_bytes());
        out.extend_from_slice(b"}:");
    }
    out.extend_from_slice(job_id.as_bytes());
}

/// Checks that every key the settle script touches for a job of each route
/// hashes to its source's slot. The error names the route, each key and its
/// slot, and says how to fix it.
pub fn check(routes: &[RouteSettings], status_prefix: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    for route in routes {
        let source = slot(&route.source);
        let mut keys: Vec<(&str, String)> = route
            .targets
            .iter()
            .map(|t| ("target", t.clone()))
            .collect();
        keys.push(("rejected", route.rejected.clone()));
        keys.push(("dead-letters", route.dead_letters.clone()));
        let mut wrong: Vec<String> = keys
            .iter()
            .filter(|(_, key)| slot(key) != source)
            .map(|(role, key)| format!("{role} `{key}` → slot {}", slot(key)))
            .collect();
        // The status key's slot must not depend on the job id: its hash tag
        // must be complete before the id begins.
        let fixed = status_key(status_prefix, true, &route.source, "");
        let template = format!("{fixed}JOB-ID");
        if hash_tag(&fixed).is_none() {
            // `fixed` always holds a `}` after its first `{`, so no tag means
            // an empty one (`{}`): Redis then hashes the whole key.
            wrong.push(format!(
                "status records `{template}` → a slot that depends on the job id ([status] prefix `{status_prefix}` holds an empty hash tag)"
            ));
        } else if slot(&fixed) != source {
            wrong.push(format!(
                "status records `{template}` → slot {} ([status] prefix `{status_prefix}` holds its own hash tag)",
                slot(&fixed)
            ));
        }
        if !wrong.is_empty() {
            let tag = hashed_part(&route.source);
            problems.push(format!(
                "route `{}`: source `{}` is in slot {source}, but {}",
                route.name,
                route.source,
                wrong.join(", ")
            ));
            problems.push(format!(
                "  give every stream of route `{}` the source's hash tag, e.g. targets `{{{tag}}}:…`, rejected `{{{tag}}}:rejected`, dead-letters `{{{tag}}}:dead`, and keep `{{` and `}}` out of [status] prefix",
                route.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "on a Redis Cluster a job is settled by one script, which can only touch keys of one hash slot; these keys cannot be settled atomically:\n{}",
            problems.join("\n")
        ))
    }
}

/// CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(source: &str, targets: &[&str], rejected: &str, dead: &str) -> RouteSettings {
        RouteSettings {
            name: "r".into(),
            source: source.into(),
            matches: Vec::new(),
            validators: Vec::new(),
            router: "p".into(),
            shadow: None,
            targets: targets.iter().map(|t| t.to_string()).collect(),
            rejected: rejected.into(),
            dead_letters: dead.into(),
        }
    }

    #[test]
    fn slots_are_the_ones_redis_computes() {
        // The CRC16 check value, and slots from the Redis Cluster spec.
        assert_eq!(crc16(b"123456789"), 0x31c3);
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("foo{}{bar}"), slot("foo{}{bar}"));
        assert_eq!(hash_tag("foo{}{bar}"), None);
        assert_eq!(hash_tag("foo{{bar}}zap"), Some("{bar"));
        for key in ["jobs", "{jobs}:local", "a{b}c", "x{}y", "{", "}{a}"] {
            assert_eq!(
                redis::cluster_routing::Slot::new(slot(key)),
                Some(redis::cluster_routing::Slot::for_key(key)),
                "{key}"
            );
        }
    }

    #[test]
    fn status_keys_carry_the_source_tag_on_a_cluster() {
        assert_eq!(status_key("p:", false, "{a}:in", "J"), "p:J");
        assert_eq!(status_key("p:", true, "{a}:in", "J"), "p:{a}:J");
        assert_eq!(status_key("p:", true, "jobs", "J"), "p:{jobs}:J");
        assert_eq!(slot(&status_key("p:", true, "jobs", "J")), slot("jobs"));
    }

    #[test]
    fn a_tagged_layout_passes() {
        let r = route("{a}:in", &["{a}:local"], "{a}:rejected", "{a}:dead");
        check(&[r], "switchyard:job:").unwrap();
        // An untagged source works with targets tagged by its name.
        let r = route("jobs", &["{jobs}:local"], "{jobs}:rejected", "{jobs}:dead");
        check(&[r], "switchyard:job:").unwrap();
    }

    #[test]
    fn an_untagged_layout_is_refused_naming_keys_and_slots() {
        let r = route("jobs", &["queue:local"], "jobs:rejected", "{jobs}:dead");
        let err = check(&[r], "switchyard:job:").unwrap_err();
        assert!(err.contains("route `r`"), "{err}");
        assert!(err.contains(&format!("source `jobs` is in slot {}", slot("jobs"))));
        assert!(err.contains(&format!(
            "target `queue:local` → slot {}",
            slot("queue:local")
        )));
        assert!(err.contains("rejected `jobs:rejected`"), "{err}");
        assert!(!err.contains("dead-letters `{jobs}:dead` →"), "{err}");
    }

    #[test]
    fn a_prefix_with_braces_is_refused() {
        let r = route("{a}", &["{a}:l"], "{a}:r", "{a}:d");
        let err = check(std::slice::from_ref(&r), "sy:{x}:").unwrap_err();
        assert!(err.contains("holds its own hash tag"), "{err}");
        let err = check(&[r], "sy:{}").unwrap_err();
        assert!(err.contains("depends on the job id"), "{err}");
    }
}
