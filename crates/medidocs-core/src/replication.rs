//! The conflict rule of replicated regions. Two regions may both write a document: the
//! primary before an outage, the recovery region during it, and the replication of each
//! arrives late at the other. Each region keeps, per document, the copy that is greater in
//! one total order, so both end with the same copy whatever order the writes arrive in:
//!
//! 1. a status never moves backwards: RECEIVED < PROCESSING < FAILED < REJECTED, READY
//!    (a failed document may be retried to an outcome, an outcome is never undone);
//! 2. then the higher version wins (every write bumps it);
//! 3. then the later `updated_at`, then the greater record text: ties broken the same way
//!    in both regions.

use std::cmp::Ordering;

use crate::model::{DocumentRecord, Status};

fn rank(s: Status) -> u8 {
    match s {
        Status::Received => 0,
        Status::Processing => 1,
        Status::Failed => 2,
        Status::Rejected | Status::Ready => 3,
    }
}

/// The order of two copies of one document (greater wins).
pub fn compare(a: &DocumentRecord, b: &DocumentRecord) -> Ordering {
    rank(a.status)
        .cmp(&rank(b.status))
        .then(a.version.cmp(&b.version))
        .then_with(|| a.updated_at.cmp(&b.updated_at))
        .then_with(|| {
            let text = |d: &DocumentRecord| serde_json::to_string(d).unwrap_or_default();
            text(a).cmp(&text(b))
        })
}

/// Whether a region holding `local` (if any) takes `incoming`.
pub fn takes(local: Option<&DocumentRecord>, incoming: &DocumentRecord) -> bool {
    local.is_none_or(|l| compare(incoming, l) == Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceRef;

    fn doc(status: Status, version: u64, at: &str) -> DocumentRecord {
        let mut d = DocumentRecord::new(
            "d1".into(),
            "p-1".into(),
            SourceRef {
                bucket: "b".into(),
                key: "k".into(),
                version: "v".into(),
            },
            "00".into(),
            1,
            at.into(),
        );
        d.status = status;
        d.version = version;
        d
    }

    #[test]
    fn a_status_never_moves_backwards_even_against_a_higher_version() {
        let ready = doc(Status::Ready, 5, "t1");
        let processing_later = doc(Status::Processing, 9, "t2");
        assert!(!takes(Some(&ready), &processing_later));
        assert!(takes(Some(&processing_later), &ready));
        let failed = doc(Status::Failed, 7, "t1");
        assert!(
            takes(Some(&failed), &doc(Status::Ready, 3, "t0")),
            "a retry's outcome wins"
        );
        assert!(!takes(Some(&ready), &failed));
    }

    #[test]
    fn within_a_status_the_higher_version_wins() {
        let v3 = doc(Status::Processing, 3, "t1");
        let v4 = doc(Status::Processing, 4, "t0");
        assert!(takes(Some(&v3), &v4));
        assert!(!takes(Some(&v4), &v3));
        assert!(
            !takes(Some(&v4), &v4.clone()),
            "the same copy is not written again"
        );
        assert!(takes(None, &v3));
    }

    #[test]
    fn any_arrival_order_converges_on_one_copy() {
        let mut a = doc(Status::Ready, 6, "t5");
        a.text_chars = 10;
        let mut b = doc(Status::Ready, 6, "t5");
        b.text_chars = 11;
        let copies = [
            doc(Status::Received, 1, "t0"),
            doc(Status::Processing, 2, "t1"),
            doc(Status::Failed, 4, "t3"),
            a,
            b,
            doc(Status::Processing, 8, "t6"),
        ];
        // Every permutation of arrivals (720) ends on the same copy in a region.
        let mut winners = std::collections::BTreeSet::new();
        let mut idx: Vec<usize> = (0..copies.len()).collect();
        permute(&mut idx, 0, &mut |order| {
            let mut held: Option<&DocumentRecord> = None;
            for &i in order {
                if takes(held, &copies[i]) {
                    held = Some(&copies[i]);
                }
            }
            winners.insert(serde_json::to_string(held.unwrap()).unwrap());
        });
        assert_eq!(winners.len(), 1, "{winners:?}");
        let w: DocumentRecord = serde_json::from_str(winners.first().unwrap()).unwrap();
        assert_eq!((w.status, w.version, w.text_chars), (Status::Ready, 6, 11));
    }

    fn permute(v: &mut Vec<usize>, k: usize, f: &mut impl FnMut(&[usize])) {
        if k == v.len() {
            f(v);
            return;
        }
        for i in k..v.len() {
            v.swap(k, i);
            permute(v, k + 1, f);
            v.swap(k, i);
        }
    }
}
