//! The identifier the targets use: the real signature files when `../shared/pronom` (from the
//! workspace root) or `$ARCHIPEL_PRONOM_DIR` has them, else a small built-in set.

use std::path::PathBuf;
use std::sync::OnceLock;

use archipel_pronom::{Identifier, SignatureFiles};

pub fn identifier() -> &'static Identifier {
    static ID: OnceLock<Identifier> = OnceLock::new();
    ID.get_or_init(|| {
        let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/pronom");
        let files = SignatureFiles::discover(None).or_else(|_| SignatureFiles::in_dir(&shared));
        match files {
            Ok(f) => Identifier::load(&f.droid, &f.container).expect("signature files load"),
            Err(_) => Identifier::from_xml(MINI_DROID.as_bytes(), MINI_CONTAINER.as_bytes()).expect("built-in set"),
        }
    })
}

const MINI_DROID: &str = r#"<FFSignatureFile Version="1"><InternalSignatureCollection>
<InternalSignature ID="1"><ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>504B0304</Sequence></SubSequence></ByteSequence></InternalSignature>
<InternalSignature ID="2"><ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="0"><Sequence>D0CF11E0A1B11AE1</Sequence></SubSequence></ByteSequence></InternalSignature>
<InternalSignature ID="3"><ByteSequence><SubSequence Position="1" SubSeqMinOffset="0"><Sequence>414243</Sequence><LeftFragment Position="1" MinOffset="0" MaxOffset="64">[30:39]</LeftFragment><RightFragment Position="1" MinOffset="1" MaxOffset="9">4445</RightFragment></SubSequence><SubSequence Position="2" SubSeqMinOffset="0"><Sequence>5A5A</Sequence></SubSequence></ByteSequence><ByteSequence Reference="EOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="100"><Sequence>454E44</Sequence></SubSequence></ByteSequence></InternalSignature>
</InternalSignatureCollection><FileFormatCollection>
<FileFormat ID="10" Name="ZIP" PUID="x-fmt/263"><InternalSignatureID>1</InternalSignatureID></FileFormat>
<FileFormat ID="11" Name="OLE2" PUID="fmt/111"><InternalSignatureID>2</InternalSignatureID></FileFormat>
<FileFormat ID="12" Name="Test" PUID="fmt/9999"><InternalSignatureID>3</InternalSignatureID></FileFormat>
</FileFormatCollection></FFSignatureFile>"#;

const MINI_CONTAINER: &str = r#"<ContainerSignatureMapping><ContainerSignatures>
<ContainerSignature Id="1" ContainerType="ZIP"><Description>docx</Description><Files><File><Path>[Content_Types].xml</Path><BinarySignatures><InternalSignatureCollection><InternalSignature ID="5"><ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="4096"><Sequence>'wordprocessingml'</Sequence></SubSequence></ByteSequence></InternalSignature></InternalSignatureCollection></BinarySignatures></File></Files></ContainerSignature>
<ContainerSignature Id="2" ContainerType="OLE2"><Description>doc</Description><Files><File><Path>WordDocument</Path></File><File><Path>CompObj</Path><BinarySignatures><InternalSignatureCollection><InternalSignature ID="6"><ByteSequence Reference="BOFoffset"><SubSequence Position="1" SubSeqMinOffset="0" SubSeqMaxOffset="1024"><Sequence>'Word.Document.' ['6'-'8']</Sequence></SubSequence></ByteSequence></InternalSignature></InternalSignatureCollection></BinarySignatures></File></Files></ContainerSignature>
</ContainerSignatures><FileFormatMappings><FileFormatMapping signatureId="1" Puid="fmt/412"/><FileFormatMapping signatureId="2" Puid="fmt/40"/></FileFormatMappings>
<TriggerPuids><TriggerPuid ContainerType="OLE2" Puid="fmt/111"/><TriggerPuid ContainerType="ZIP" Puid="x-fmt/263"/></TriggerPuids></ContainerSignatureMapping>"#;
