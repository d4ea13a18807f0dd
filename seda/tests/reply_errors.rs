//! Replies that cannot be valid SEDA are refused with a `ReplyError` naming the field,
//! instead of being written invalid.

use archipel_seda::reply::text::MAX_IDENTIFIER_CHARS;
use archipel_seda::reply::{
    write_acknowledgement, write_transfer_reply, Acknowledgement, ReplyCode, ReplyDigest, ReplyError, ReplyEvent,
    ReplyObject, ReplyUnit, SedaVersion, TransferReply,
};
use chrono::{TimeZone, Utc};

fn reply() -> TransferReply {
    TransferReply {
        version: SedaVersion::V2_1,
        message_identifier: "ATR-1".into(),
        date: Utc.with_ymd_and_hms(2025, 3, 14, 10, 0, 0).unwrap(),
        reply_code: ReplyCode::Ok,
        message_request_identifier: Some("SIP-1".into()),
        grant_date: None,
        archival_agency: "FRAD034".into(),
        transferring_agency: "MAIRIE-34172".into(),
        archival_agreement: None,
        comments: vec![],
        events: vec![],
        objects: vec![ReplyObject {
            data_object_id: "ID1".into(),
            system_id: "obj-1".into(),
            format: None,
            digest: None,
            size: None,
            group: None,
            version: None,
            physical: None,
        }],
        units: vec![ReplyUnit {
            unit_id: "AU1".into(),
            system_id: "unit-1".into(),
        }],
    }
}

fn field_of(e: ReplyError) -> String {
    let shown = e.to_string();
    match e {
        ReplyError::MissingField { field, .. }
        | ReplyError::TooLong { field, .. }
        | ReplyError::InvalidId { field, .. }
        | ReplyError::DuplicateId { field, .. }
        | ReplyError::InvalidDigest { field, .. }
        | ReplyError::DateOutOfRange { field, .. } => {
            assert!(shown.contains(&field), "message {shown:?} must name {field}");
            field
        }
        other => panic!("unexpected error {other}"),
    }
}

fn refused(r: &TransferReply) -> String {
    field_of(write_transfer_reply(r).expect_err("this reply must be refused"))
}

#[test]
fn the_base_reply_is_accepted() {
    assert!(write_transfer_reply(&reply()).is_ok());
}

#[test]
fn blank_required_fields_are_errors() {
    let mut r = reply();
    r.archival_agency = String::new();
    assert_eq!(refused(&r), "archival_agency");
    let mut r = reply();
    r.transferring_agency = " \n\t".into();
    assert_eq!(refused(&r), "transferring_agency");
    let mut r = reply();
    r.message_identifier = "".into();
    assert_eq!(refused(&r), "message_identifier");
    let mut r = reply();
    r.objects[0].system_id = "  ".into();
    assert_eq!(refused(&r), "objects[0].system_id");
    let mut r = reply();
    r.units[0].system_id = "".into();
    assert_eq!(refused(&r), "units[0].system_id");
    let mut r = reply();
    r.events.push(ReplyEvent {
        event_type: " ".into(),
        outcome: ReplyCode::Ko,
        detail: "x".into(),
        subject: None,
        date: r.date,
    });
    assert_eq!(refused(&r), "events[0].event_type");
}

#[test]
fn missing_error_says_which_message_needs_it() {
    let mut r = reply();
    r.archival_agency = String::new();
    let e = write_transfer_reply(&r).unwrap_err();
    assert!(e.to_string().contains("ArchiveTransferReply"), "{e}");
}

#[test]
fn ids_must_be_xml_ids_and_unique() {
    let mut r = reply();
    r.objects[0].data_object_id = "1 not an id".into();
    assert_eq!(refused(&r), "objects[0].data_object_id");
    let mut r = reply();
    r.units[0].unit_id = "a<b".into();
    assert_eq!(refused(&r), "units[0].unit_id");
    let mut r = reply();
    r.units[0].unit_id = "ID1".into();
    let e = write_transfer_reply(&r).unwrap_err();
    assert!(matches!(e, ReplyError::DuplicateId { .. }), "{e}");
    assert_eq!(field_of(e), "units[0].unit_id");
}

#[test]
fn overlong_identifiers_are_errors_not_cut() {
    let mut r = reply();
    r.transferring_agency = "x".repeat(MAX_IDENTIFIER_CHARS + 1);
    let e = write_transfer_reply(&r).unwrap_err();
    assert!(matches!(e, ReplyError::TooLong { .. }), "{e}");
    r.transferring_agency = "x".repeat(MAX_IDENTIFIER_CHARS);
    assert!(write_transfer_reply(&r).is_ok());
}

#[test]
fn bad_digests_and_dates_are_errors() {
    let mut r = reply();
    r.objects[0].digest = Some(ReplyDigest {
        algorithm: "SHA-512".into(),
        value: "not a digest".into(),
    });
    assert_eq!(refused(&r), "objects[0].digest.value");
    let mut r = reply();
    r.grant_date = Some(Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap());
    assert_eq!(refused(&r), "grant_date");
}

#[test]
fn acknowledgement_needs_sender_and_receiver() {
    let ack = Acknowledgement {
        version: SedaVersion::V2_3,
        message_identifier: "ACK-1".into(),
        date: Utc.with_ymd_and_hms(2025, 3, 14, 10, 0, 0).unwrap(),
        comments: vec![],
        message_received_identifier: Some("SIP-1".into()),
        sender: "FRAD034".into(),
        receiver: "MAIRIE-34172".into(),
    };
    assert!(write_acknowledgement(&ack).is_ok());
    let no_sender = Acknowledgement {
        sender: "".into(),
        ..ack.clone()
    };
    assert_eq!(field_of(write_acknowledgement(&no_sender).unwrap_err()), "sender");
    let no_receiver = Acknowledgement {
        receiver: "\u{0}".into(),
        ..ack
    };
    // Nothing but a character XML cannot hold is as blank as nothing.
    assert_eq!(field_of(write_acknowledgement(&no_receiver).unwrap_err()), "receiver");
}
