//! Echo server, async model: one thread runs tokio's event loop
//! (a current-thread runtime), and every connection is a task on it.
//! Same line protocol as versus-02-prefork (echo, block <ms>, panic, abort, quit).
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

const TIME_LIMIT: Duration = Duration::from_secs(60); // then shut down anyway

// ANCHOR: handle
async fn handle(stream: TcpStream, quit: Arc<Notify>) -> std::io::Result<()> {
    let (read, mut out) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    while let Some(line) = lines.next_line().await? {
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["quit"] => {
                out.write_all(b"bye\n").await?;
                quit.notify_one();
                return Ok(());
            }
            ["panic"] => panic!("handler asked to panic"),
            ["abort"] => std::process::abort(),
            ["block", ms] => {
                // The mistake on purpose: a blocking sleep inside a task
                // holds the only thread, so no other task can run meanwhile.
                // (tokio::time::sleep(..).await would yield instead.)
                std::thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
                out.write_all(b"unblocked\n").await?;
            }
            _ => out.write_all(format!("{line}\n").as_bytes()).await?,
        }
    }
    Ok(())
}
// ANCHOR_END: handle

// ANCHOR: main
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("cannot bind");
    println!("listening on {}", listener.local_addr().unwrap());
    let quit = Arc::new(Notify::new());
    let time_limit = tokio::time::sleep(TIME_LIMIT);
    tokio::pin!(time_limit);
    let mut connections = 0;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections += 1;
                // A task, not a thread: the runtime catches a panic in it
                // and ends that task only.
                tokio::spawn(handle(stream, Arc::clone(&quit)));
            }
            _ = quit.notified() => break,
            _ = &mut time_limit => {
                eprintln!("server: time limit reached");
                break;
            }
        }
    }
    // Leaving main drops the runtime, which cancels the remaining tasks.
    eprintln!("server: stopped after {connections} connections");
}
// ANCHOR_END: main
