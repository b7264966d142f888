//! Echo server, thread-per-connection model: one process; the main thread
//! accepts, and every connection gets a thread of its own.
//! Same line protocol as versus-02-prefork (echo, block <ms>, panic, abort, quit).
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const TIME_LIMIT: Duration = Duration::from_secs(60); // then shut down anyway

enum Ending {
    Closed,
    Quit,
}

/// The same handler as in versus-02-prefork.
fn handle(stream: TcpStream) -> std::io::Result<Ending> {
    let mut out = stream.try_clone()?;
    for line in BufReader::new(stream).lines() {
        let line = line?;
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["quit"] => {
                out.write_all(b"bye\n")?;
                return Ok(Ending::Quit);
            }
            ["panic"] => panic!("handler asked to panic"),
            ["abort"] => std::process::abort(),
            ["block", ms] => {
                thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
                out.write_all(b"unblocked\n")?;
            }
            _ => out.write_all(format!("{line}\n").as_bytes())?,
        }
    }
    Ok(Ending::Closed)
}

/// Wakes the main thread out of accept() by connecting to it.
fn stop(flag: &AtomicBool, addr: SocketAddr) {
    flag.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect(addr);
}

fn main() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind");
    let addr = listener.local_addr().unwrap();
    println!("listening on {addr}");
    let stopping = Arc::new(AtomicBool::new(false));
    {
        let stopping = Arc::clone(&stopping);
        thread::spawn(move || {
            thread::sleep(TIME_LIMIT);
            eprintln!("server: time limit reached");
            stop(&stopping, addr);
        });
    }

    // ANCHOR: accept
    let mut connections = 0;
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        connections += 1;
        let stopping = Arc::clone(&stopping);
        // One thread per connection; its JoinHandle is dropped (detached):
        // a panic ends that thread only, and nobody waits for it.
        thread::Builder::new()
            .name("handler".into())
            .spawn(move || {
                if let Ok(Ending::Quit) = handle(stream) {
                    stop(&stopping, addr);
                }
            })
            .expect("cannot start a thread");
    }
    // ANCHOR_END: accept
    // Returning from main ends the process, and with it every handler thread
    // still waiting on an idle connection.
    eprintln!("server: stopped after {connections} connections");
}
