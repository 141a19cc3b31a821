//! Where retention may trim: pure functions of the groups' positions and
//! the caps, so the rules that keep every pending or undelivered entry are
//! tested as specifications, without Redis.

use crate::config::{Cap, Role};
use crate::pipeline::job::EntryId;

/// Where one consumer group is on a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPosition {
    /// The group's name.
    pub name: String,
    /// Every entry up to this id has been delivered to the group (`0-0`:
    /// none has).
    pub last_delivered: EntryId,
    /// The oldest entry delivered but not acknowledged, if any.
    pub oldest_pending: Option<EntryId>,
}

/// The point below which every group has acknowledged every entry: entries
/// with a smaller id may be trimmed, that one and later ones may not. It is
/// the smallest, over all groups, of the oldest pending entry and the first
/// id after the last one delivered. `None` when there is no group: then
/// nobody has said what they have read.
pub fn acknowledged_bound(groups: &[GroupPosition]) -> Option<EntryId> {
    groups
        .iter()
        .map(|g| {
            let undelivered = g.last_delivered.next();
            g.oldest_pending
                .map_or(undelivered, |pending| pending.min(undelivered))
        })
        .min()
}

/// The trim point of a stream of `role` (entries below it go), given its
/// groups and, for an output stream, the point its cap asks for. A source
/// is trimmed to what every group acknowledged; an output stream to its
/// cap, but never past what a group on it has not acknowledged.
pub fn trim_bound(role: Role, groups: &[GroupPosition], cap: Option<EntryId>) -> Option<EntryId> {
    let acknowledged = acknowledged_bound(groups);
    let bound = match role {
        Role::Source => acknowledged,
        _ => match (cap, acknowledged) {
            (None, _) => None,
            (Some(cap), None) => Some(cap),
            (Some(cap), Some(acknowledged)) => Some(cap.min(acknowledged)),
        },
    };
    bound.filter(|b| *b > EntryId::default())
}

/// The point a cap asks for: entries below the first of the newest
/// `max-len` (`first_kept`), or older than `max-age`, go. The larger of the
/// two, since either is a reason to trim.
pub fn cap_bound(cap: Cap, first_kept: Option<EntryId>, now_ms: u64) -> Option<EntryId> {
    let by_age = cap.max_age.map(|age| EntryId {
        ms: now_ms.saturating_sub(age.as_millis() as u64),
        seq: 0,
    });
    match (first_kept, by_age) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn id(text: &str) -> EntryId {
        EntryId::parse(text).unwrap()
    }

    fn group(last: &str, pending: Option<&str>) -> GroupPosition {
        GroupPosition {
            name: "g".into(),
            last_delivered: id(last),
            oldest_pending: pending.map(id),
        }
    }

    #[test]
    fn no_group_means_no_trim_of_a_source() {
        assert_eq!(acknowledged_bound(&[]), None);
        assert_eq!(trim_bound(Role::Source, &[], None), None);
    }

    #[test]
    fn a_group_that_read_nothing_allows_no_trim() {
        let groups = [group("0-0", None)];
        assert_eq!(acknowledged_bound(&groups), Some(id("0-1")));
        // Nothing is below 0-1 (0-0 is no valid entry id), so nothing goes.
        assert_eq!(
            trim_bound(Role::Source, &[group("0-0", None)], None),
            Some(id("0-1"))
        );
    }

    #[test]
    fn the_bound_is_after_the_last_delivered_when_nothing_is_pending() {
        assert_eq!(acknowledged_bound(&[group("7-3", None)]), Some(id("7-4")));
    }

    #[test]
    fn a_pending_entry_at_or_before_last_delivered_holds_the_bound() {
        let groups = [group("9-0", Some("4-2"))];
        assert_eq!(acknowledged_bound(&groups), Some(id("4-2")));
    }

    #[test]
    fn the_slowest_of_all_groups_decides() {
        let groups = [
            group("100-0", Some("90-0")),
            group("50-0", None),
            group("200-0", Some("60-1")),
        ];
        assert_eq!(acknowledged_bound(&groups), Some(id("50-1")));
        let groups = [group("100-0", Some("40-0")), group("50-0", None)];
        assert_eq!(acknowledged_bound(&groups), Some(id("40-0")));
    }

    #[test]
    fn an_output_cap_never_passes_its_groups() {
        let cap = Some(id("80-0"));
        assert_eq!(trim_bound(Role::Target, &[], cap), cap);
        assert_eq!(trim_bound(Role::Target, &[], None), None);
        let groups = [group("30-0", None)];
        assert_eq!(trim_bound(Role::Target, &groups, cap), Some(id("30-1")));
        // An output stream without a cap is never trimmed, groups or not.
        assert_eq!(trim_bound(Role::DeadLetters, &groups, None), None);
        // A source ignores caps.
        assert_eq!(
            trim_bound(Role::Source, &groups, Some(id("99-0"))),
            Some(id("30-1"))
        );
    }

    #[test]
    fn a_cap_trims_by_length_or_age_whichever_goes_further() {
        let len_only = Cap {
            max_len: Some(10),
            max_age: None,
        };
        assert_eq!(cap_bound(len_only, Some(id("5-0")), 1000), Some(id("5-0")));
        assert_eq!(cap_bound(len_only, None, 1000), None);
        let both = Cap {
            max_len: Some(10),
            max_age: Some(Duration::from_millis(100)),
        };
        assert_eq!(cap_bound(both, Some(id("5-0")), 1000), Some(id("900-0")));
        assert_eq!(cap_bound(both, Some(id("950-0")), 1000), Some(id("950-0")));
        assert_eq!(cap_bound(both, None, 50), Some(id("0-0")));
    }

    #[test]
    fn a_zero_bound_trims_nothing() {
        let cap = Some(EntryId::default());
        assert_eq!(trim_bound(Role::Target, &[], cap), None);
    }
}
