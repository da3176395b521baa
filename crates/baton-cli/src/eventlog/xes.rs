//! A streaming XES reader: trace and event attributes as key → text.

use std::io::{self, BufRead, Read};

use anyhow::bail;
use baton_core::eventlog::{Attributes, Case};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Where the reader is in the document.
#[derive(PartialEq)]
enum In {
    Outside,
    Trace,
    Event,
}

fn key_value(e: &BytesStart<'_>) -> anyhow::Result<Option<(String, String)>> {
    let mut key = None;
    let mut value = None;
    for attr in e.attributes() {
        let attr = attr?;
        let text = || attr.normalized_value(quick_xml::XmlVersion::Implicit1_0);
        match attr.key.local_name().as_ref() {
            "key" => key = Some(text()?.into_owned()),
            "value" => value = Some(text()?.into_owned()),
            _ => {}
        }
    }
    Ok(key.zip(value))
}

/// Counts the lines consumed from the input, so each event knows its line.
struct LineCount<R> {
    inner: R,
    newlines: u64,
}

impl<R: BufRead> Read for LineCount<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCount<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let seen = &buf[..amount.min(buf.len())];
            self.newlines += seen.iter().filter(|b| **b == b'\n').count() as u64;
        }
        self.inner.consume(amount);
    }
}

/// Reads every trace of an XES document, calling `each` per case.
pub fn read_cases(
    input: impl BufRead,
    mut each: impl FnMut(Case) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut reader = Reader::from_reader(LineCount {
        inner: input,
        newlines: 0,
    });
    let mut buf = Vec::new();
    let mut place = In::Outside;
    // Depth of nested attribute elements (lists, containers) to skip.
    let mut nested = 0usize;
    let mut case = Case::default();
    let mut event = Attributes::new();
    loop {
        let at = reader.buffer_position();
        let read = reader.read_event_into(&mut buf);
        let ev = match read {
            Ok(ev) => ev,
            Err(e) => bail!("xml error at byte {at}: {e}"),
        };
        match ev {
            Event::Start(e) => match (e.local_name().as_ref(), &place) {
                ("trace", In::Outside) => {
                    place = In::Trace;
                    case = Case::default();
                }
                ("event", In::Trace) => {
                    place = In::Event;
                    event = Attributes::new();
                    case.lines.push(reader.get_ref().newlines + 1);
                }
                (_, In::Trace | In::Event) => {
                    // An attribute with children (list or container): keep
                    // its own value if it has one, skip the children.
                    if nested == 0
                        && let Some((k, v)) = key_value(&e)?
                    {
                        insert(&place, &mut case, &mut event, k, v);
                    }
                    nested += 1;
                }
                _ => {}
            },
            Event::Empty(e) => {
                if e.local_name().as_ref() == "event" && place == In::Trace {
                    case.lines.push(reader.get_ref().newlines + 1);
                    case.events.push(Attributes::new());
                } else if nested == 0
                    && place != In::Outside
                    && let Some((k, v)) = key_value(&e)?
                {
                    insert(&place, &mut case, &mut event, k, v);
                }
            }
            Event::End(e) => match (e.local_name().as_ref(), &place) {
                ("event", In::Event) if nested == 0 => {
                    case.events.push(std::mem::take(&mut event));
                    place = In::Trace;
                }
                ("trace", In::Trace) if nested == 0 => {
                    each(std::mem::take(&mut case))?;
                    place = In::Outside;
                }
                (_, In::Trace | In::Event) if nested > 0 => nested -= 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if place != In::Outside {
        bail!("the log ends inside a trace");
    }
    Ok(())
}

fn insert(place: &In, case: &mut Case, event: &mut Attributes, key: String, value: String) {
    match place {
        In::Trace => {
            case.attributes.insert(key, value);
        }
        In::Event => {
            event.insert(key, value);
        }
        In::Outside => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_and_events_are_read_with_their_attributes() {
        let xes = r#"<?xml version="1.0"?>
<log xes.version="1.0">
  <string key="concept:name" value="log name, ignored"/>
  <global scope="event"><string key="org:group" value="UNKNOWN"/></global>
  <trace>
    <string key="concept:name" value="1-364285768"/>
    <event>
      <string key="concept:name" value="Accepted"/>
      <date key="time:timestamp" value="2010-03-31T16:59:42+02:00"/>
      <list key="tags"><string key="x" value="inner, ignored"/></list>
      <string key="org:group" value="V30 &amp; co"/>
    </event>
    <event><string key="concept:name" value="Completed"/></event>
  </trace>
  <trace><string key="concept:name" value="2"/></trace>
</log>"#;
        let mut cases = Vec::new();
        read_cases(xes.as_bytes(), |c| {
            cases.push(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].attributes["concept:name"], "1-364285768");
        assert_eq!(cases[0].events.len(), 2);
        assert_eq!(cases[0].lines, vec![7, 13]);
        assert_eq!(cases[0].events[0]["org:group"], "V30 & co");
        assert_eq!(
            cases[0].events[0]["time:timestamp"],
            "2010-03-31T16:59:42+02:00"
        );
        assert!(!cases[0].events[0].contains_key("x"));
        assert_eq!(cases[1].events.len(), 0);
    }

    #[test]
    fn truncated_logs_are_errors() {
        let err = read_cases("<log><trace><event>".as_bytes(), |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("ends inside a trace"), "{err}");
    }
}
