//! Reading the answers to archives Archipel sent out: the receiving archive's
//! ArchiveTransferReply (its verdict on a transfer out) and an Acknowledgement (the originating
//! agency confirms it received a restitution package). Read in schema order; a misplaced,
//! unknown or missing element is refused by name and line.

use chrono::{DateTime, Utc};

use crate::message::{self, MessageError, Seq};
use crate::version::SedaVersion;

const ATR: &str = "ArchiveTransferReply";
const ACK: &str = "Acknowledgement";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedTransferReply {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub comments: Vec<String>,
    /// `OK` and `WARNING` accept the transfer; anything else (`KO`, a Vitam `KO` variant…)
    /// rejects it.
    pub reply_code: String,
    pub message_request_identifier: String,
    pub grant_date: Option<DateTime<Utc>>,
    pub archival_agency: String,
    pub transferring_agency: String,
}

impl ReceivedTransferReply {
    /// The receiving archive took charge of the archives.
    pub fn accepted(&self) -> bool {
        matches!(self.reply_code.as_str(), "OK" | "WARNING")
    }
}

/// Reads an ArchiveTransferReply; its `ReplyCode` is required (it is the verdict).
pub fn parse_transfer_reply(xml: &[u8]) -> Result<ReceivedTransferReply, MessageError> {
    let (version, root) = message::read_root(xml, ATR)?;
    let mut seq = Seq::new(ATR, &root);
    let head = message::head(ATR, &mut seq)?;
    let reply_code = message::identifier(ATR, "ReplyCode", seq.req("ReplyCode")?)?;
    seq.opt("Operation");
    let request = message::identifier(ATR, "MessageRequestIdentifier", seq.req("MessageRequestIdentifier")?)?;
    let grant_date = seq
        .opt("GrantDate")
        .map(|n| message::date_time(ATR, "GrantDate", n))
        .transpose()?;
    let archival_agency = message::organization(ATR, "ArchivalAgency", seq.req("ArchivalAgency")?)?;
    let transferring_agency = message::organization(ATR, "TransferringAgency", seq.req("TransferringAgency")?)?;
    seq.end("nothing after TransferringAgency")?;
    Ok(ReceivedTransferReply {
        version,
        message_identifier: head.message_identifier,
        date: head.date,
        comments: head.comments,
        reply_code,
        message_request_identifier: request,
        grant_date,
        archival_agency,
        transferring_agency,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAcknowledgement {
    pub version: SedaVersion,
    pub message_identifier: String,
    pub date: DateTime<Utc>,
    pub comments: Vec<String>,
    pub message_received_identifier: String,
    pub sender: String,
    pub receiver: String,
}

/// Reads an Acknowledgement: `Comment*, Date, MessageIdentifier, Signature?,
/// MessageReceivedIdentifier, Sender, Receiver`.
pub fn parse_acknowledgement(xml: &[u8]) -> Result<ReceivedAcknowledgement, MessageError> {
    let (version, root) = message::read_root(xml, ACK)?;
    let mut seq = Seq::new(ACK, &root);
    let comments = seq
        .many("Comment")
        .into_iter()
        .map(|c| c.text.trim().to_owned())
        .collect();
    let date = message::date_time(ACK, "Date", seq.req("Date")?)?;
    let message_identifier = message::identifier(ACK, "MessageIdentifier", seq.req("MessageIdentifier")?)?;
    seq.opt("Signature");
    let received = message::identifier(ACK, "MessageReceivedIdentifier", seq.req("MessageReceivedIdentifier")?)?;
    let sender = message::organization(ACK, "Sender", seq.req("Sender")?)?;
    let receiver = message::organization(ACK, "Receiver", seq.req("Receiver")?)?;
    seq.end("nothing after Receiver")?;
    Ok(ReceivedAcknowledgement {
        version,
        message_identifier,
        date,
        comments,
        message_received_identifier: received,
        sender,
        receiver,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{write_acknowledgement, Acknowledgement};

    const ATR_KO: &str = r#"<?xml version="1.0"?>
<ArchiveTransferReply xmlns="fr:gouv:culture:archivesdefrance:seda:v2.2">
 <Date>2026-12-01T10:00:00Z</Date><MessageIdentifier>ATR-9</MessageIdentifier>
 <CodeListVersions/><ReplyCode>KO</ReplyCode>
 <MessageRequestIdentifier>TOUT-1</MessageRequestIdentifier>
 <ArchivalAgency><Identifier>AD</Identifier></ArchivalAgency>
 <TransferringAgency><Identifier>REGION</Identifier></TransferringAgency>
</ArchiveTransferReply>"#;

    #[test]
    fn reads_the_verdict_of_a_transfer_reply() {
        let r = parse_transfer_reply(ATR_KO.as_bytes()).unwrap();
        assert_eq!(r.reply_code, "KO");
        assert!(!r.accepted());
        assert_eq!(r.message_request_identifier, "TOUT-1");
        assert_eq!(
            (r.archival_agency.as_str(), r.transferring_agency.as_str()),
            ("AD", "REGION")
        );
        let ok = ATR_KO.replace(">KO<", ">OK<");
        assert!(parse_transfer_reply(ok.as_bytes()).unwrap().accepted());
    }

    #[test]
    fn refuses_a_reply_without_code_or_out_of_order() {
        let none = ATR_KO.replace("<ReplyCode>KO</ReplyCode>", "");
        assert!(matches!(
            parse_transfer_reply(none.as_bytes()),
            Err(MessageError::Unexpected { .. } | MessageError::Missing { .. })
        ));
        let swapped = ATR_KO.replace(
            "<ArchivalAgency><Identifier>AD</Identifier></ArchivalAgency>\n <TransferringAgency><Identifier>REGION</Identifier></TransferringAgency>",
            "<TransferringAgency><Identifier>REGION</Identifier></TransferringAgency><ArchivalAgency><Identifier>AD</Identifier></ArchivalAgency>",
        );
        assert!(parse_transfer_reply(swapped.as_bytes()).is_err());
        assert!(matches!(
            parse_transfer_reply(b"<Acknowledgement xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.2\"/>"),
            Err(MessageError::WrongRoot { .. })
        ));
    }

    #[test]
    fn reads_back_the_acknowledgements_archipel_writes() {
        let xml = write_acknowledgement(&Acknowledgement {
            version: SedaVersion::V2_3,
            message_identifier: "ACK-1".into(),
            date: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            comments: vec!["reçu".into()],
            message_received_identifier: Some("REST-1-PKG".into()),
            sender: "OA".into(),
            receiver: "AA".into(),
        })
        .unwrap();
        let a = parse_acknowledgement(&xml).unwrap();
        assert_eq!(a.message_received_identifier, "REST-1-PKG");
        assert_eq!((a.sender.as_str(), a.receiver.as_str()), ("OA", "AA"));
        assert_eq!(a.version, SedaVersion::V2_3);
    }
}
