//! The floor for fan-out: a bare broadcaster (tokio + tungstenite) with no
//! database, topics, authorisation or seq. Each change is one precomputed frame
//! written to every socket. `fanout --target bare` measures it like livecart,
//! `fanout --with-floor` measures both in one run and reports livecart as a
//! ratio to it.
//!
//! It runs as this binary's hidden `bare-serve` subcommand, a process of its
//! own, so its CPU is read from /proc like livecart's. Sockets on one port;
//! changes arrive on a control port as lines holding a price, each answered
//! `ok` (the "commit returned" moment) before its frame goes out.

use futures::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// What a subscribe is answered with: the frame livecart's clients wait for.
const SNAPSHOT: &str = r#"{"type":"snapshot","topic":"product:1","seq":0,"data":null}"#;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port for the sockets
    #[arg(long)]
    port: u16,
    /// Port for the changes (one price per line)
    #[arg(long)]
    control_port: u16,
}

pub async fn serve(args: Args) -> anyhow::Result<()> {
    let (frames, _) = broadcast::channel::<Utf8Bytes>(4096);
    let sockets = TcpListener::bind(("127.0.0.1", args.port)).await?;
    let control = TcpListener::bind(("127.0.0.1", args.control_port)).await?;
    let changes = frames.clone();
    tokio::spawn(async move {
        let mut seq = 0_u64;
        while let Ok((stream, _)) = control.accept().await {
            // One writer at a time, as the bench drives it.
            if let Err(err) = relay(stream, &changes, &mut seq).await {
                eprintln!("bare: control connection: {err}");
            }
        }
    });
    loop {
        let (stream, _) = sockets.accept().await?;
        let queue = frames.subscribe();
        tokio::spawn(async move {
            let _ = socket(stream, queue).await;
        });
    }
}

/// Each line is a price: answer `ok`, then send every socket the one frame.
async fn relay(stream: TcpStream, frames: &broadcast::Sender<Utf8Bytes>, seq: &mut u64) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        let price: i64 = line.trim().parse()?;
        write.write_all(b"ok\n").await?;
        *seq += 1;
        let frame = format!(
            r#"{{"type":"change","topic":"product:1","seq":{seq},"data":{{"id":1,"price":{{"minor":{price},"currency":"USD"}}}}}}"#
        );
        let _ = frames.send(Utf8Bytes::from(frame));
    }
    Ok(())
}

/// One socket: the subscribe is answered with a snapshot, then every frame.
async fn socket(stream: TcpStream, mut frames: broadcast::Receiver<Utf8Bytes>) -> anyhow::Result<()> {
    let config = WebSocketConfig::default().read_buffer_size(1024).write_buffer_size(0);
    let mut ws = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await?;
    let _subscribe = ws.next().await;
    ws.send(Message::text(SNAPSHOT)).await?;
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(text) => ws.send(Message::Text(text)).await?,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            incoming = ws.next() => match incoming {
                Some(Ok(_)) => {}
                _ => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_reaches_every_socket_after_its_ok() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let control_port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        tokio::spawn(serve(Args { port, control_port }));
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let mut sockets = Vec::new();
        for _ in 0..3 {
            let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")).await.expect("connect");
            ws.send(Message::text(r#"{"type":"subscribe","topic":"product:1"}"#)).await.expect("subscribe");
            let first = ws.next().await.expect("frame").expect("ok");
            assert!(first.to_text().expect("text").contains(r#""type":"snapshot""#));
            sockets.push(ws);
        }
        let control = TcpStream::connect(("127.0.0.1", control_port)).await.expect("control");
        let (read, mut write) = control.into_split();
        write.write_all(b"7000042\n").await.expect("write");
        let mut answer = String::new();
        BufReader::new(read).read_line(&mut answer).await.expect("ok");
        assert_eq!(answer, "ok\n");
        for ws in &mut sockets {
            let frame = ws.next().await.expect("frame").expect("ok");
            assert!(frame.to_text().expect("text").contains(r#""minor":7000042"#));
        }
    }
}
