//! A streaming CSV reader: one event per row, columns by header name, the
//! rows of one case next to each other.

use std::io::Read;

use anyhow::bail;
use baton_core::eventlog::{Attributes, Case};

/// Reads every case of a CSV log, calling `each` per case. The case's
/// attributes are its first row's.
pub fn read_cases(
    input: impl Read,
    case_column: &str,
    mut each: impl FnMut(Case) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = reader.headers()?.clone();
    if !headers.iter().any(|h| h == case_column) {
        bail!(
            "no `{case_column}` column (the mapping's case_id); the header has: {}",
            headers.iter().collect::<Vec<_>>().join(", ")
        );
    }
    let mut case = Case::default();
    let mut current: Option<String> = None;
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record)? {
        let line = record.position().map_or(0, csv::Position::line);
        let row: Attributes = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let id = row.get(case_column).cloned().unwrap_or_default();
        if current.as_ref() != Some(&id) {
            if current.is_some() {
                each(std::mem::take(&mut case))?;
            }
            case.attributes = row.clone();
            current = Some(id);
        }
        case.events.push(row);
        case.lines.push(line);
    }
    if current.is_some() {
        each(case)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_group_into_cases_with_their_lines() {
        let text = "case,status,team\nA,Queued,T1\nA,Done,T2\nB,Queued,\n";
        let mut cases = Vec::new();
        read_cases(text.as_bytes(), "case", |c| {
            cases.push(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].attributes["case"], "A");
        assert_eq!(cases[0].events.len(), 2);
        assert_eq!(cases[0].events[1]["team"], "T2");
        assert_eq!(cases[0].lines, vec![2, 3]);
        assert!(
            !cases[1].events[0].contains_key("team"),
            "empty cells are absent"
        );
    }

    #[test]
    fn a_missing_case_column_is_named() {
        let err = read_cases("id,status\n1,x\n".as_bytes(), "case", |_| Ok(())).unwrap_err();
        assert!(err.to_string().contains("no `case` column"), "{err}");
        let err =
            read_cases("case,status\n1,x,extra\n".as_bytes(), "case", |_| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("line: 2"), "{err:#}");
    }
}
