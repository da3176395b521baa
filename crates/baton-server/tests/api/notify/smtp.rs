//! A small SMTP server for tests (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT on
//! `127.0.0.1:0`) that captures each message, or refuses recipients.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as the server received it.
#[derive(Clone, Debug, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA, headers and body, with dot-stuffing undone.
    pub data: String,
}

pub struct SmtpServer {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpServer {
    /// Starts the server; with `refuse_recipients` every RCPT gets 550.
    pub async fn start(refuse_recipients: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::<Mutex<Vec<Mail>>>::default();
        let kept = mails.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, kept.clone(), refuse_recipients));
            }
        });
        Self { port, mails }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

async fn session(socket: TcpStream, mails: Arc<Mutex<Vec<Mail>>>, refuse_recipients: bool) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut mail = Mail::default();
    write
        .write_all(b"220 localhost test SMTP\r\n")
        .await
        .unwrap();
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "MAIL" => {
                mail = Mail {
                    from: address(&line),
                    ..Mail::default()
                };
                b"250 ok\r\n"
            }
            "RCPT" if refuse_recipients => b"550 5.1.1 no such user\r\n",
            "RCPT" => {
                mail.to.push(address(&line));
                b"250 ok\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                    .await
                    .unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    mail.data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    mail.data.push('\n');
                }
                mails.lock().unwrap().push(std::mem::take(&mut mail));
                b"250 ok: queued\r\n"
            }
            "RSET" | "NOOP" => b"250 ok\r\n",
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

/// The address between `<` and `>` of `MAIL FROM:<a@b>` or `RCPT TO:<a@b>`.
fn address(line: &str) -> String {
    let start = line.find('<').map_or(0, |i| i + 1);
    let end = line[start..].find('>').map_or(line.len(), |i| start + i);
    line[start..end].to_owned()
}
