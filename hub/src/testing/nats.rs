//! NATS for cluster tests: the shared server on `127.0.0.1:4222`, and one a test may
//! stop and start again (its own `nats-server` on a free port when the binary is
//! installed, else a TCP proxy in front of the shared server that it drops and restores).

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the shared NATS server is expected (CI and this project's machines run it).
pub const NATS_ADDR: &str = "127.0.0.1:4222";

/// Longest wait for a NATS server to accept connections.
const STARTUP: Duration = Duration::from_secs(10);

/// `nats://` URL of the shared server, or `None` (with a loud message) when it is not
/// reachable. Under CI (`CI` set) an unreachable server is a failure.
pub fn shared_url() -> Option<String> {
    if let Err(e) = TcpStream::connect(NATS_ADDR) {
        let msg = format!("NATS at {NATS_ADDR} is not reachable ({e}); cluster tests SKIPPED");
        if std::env::var_os("CI").is_some() {
            panic!("{msg} (CI requires NATS)");
        }
        eprintln!("\n!!!!! {msg} !!!!!\n");
        return None;
    }
    Some(format!("nats://{NATS_ADDR}"))
}

/// A NATS server this test owns: [`stop`](Self::stop) cuts every client off and
/// refuses new ones until [`start`](Self::start), on the same port.
pub struct RestartableNats {
    port: u16,
    kind: Kind,
}

enum Kind {
    Server(Option<Child>),
    Proxy(Option<Proxy>),
}

impl RestartableNats {
    /// Its own `nats-server` when installed, else a proxy to the shared server (`None`,
    /// loudly, when neither is available; a failure under CI).
    pub fn new() -> Option<Self> {
        let port = free_port();
        let kind = if Command::new("nats-server")
            .arg("--version")
            .output()
            .is_ok()
        {
            Kind::Server(None)
        } else {
            shared_url()?;
            Kind::Proxy(None)
        };
        let mut nats = Self { port, kind };
        nats.start();
        Some(nats)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts (again) and waits until it accepts connections.
    pub fn start(&mut self) {
        let port = self.port;
        match &mut self.kind {
            Kind::Server(child) => {
                let c = Command::new("nats-server")
                    .args(["-a", "127.0.0.1", "-p", &port.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("nats-server starts");
                *child = Some(c);
            }
            Kind::Proxy(proxy) => *proxy = Some(Proxy::start(port).expect("proxy binds")),
        }
        let deadline = Instant::now() + STARTUP;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "NATS on port {port} did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it: clients lose their connections at once.
    pub fn stop(&mut self) {
        match &mut self.kind {
            Kind::Server(child) => {
                if let Some(mut c) = child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
            Kind::Proxy(proxy) => drop(proxy.take()),
        }
    }
}

impl Drop for RestartableNats {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Forwards `127.0.0.1:port` to the shared server; dropping it closes everything.
struct Proxy {
    port: u16,
    open: Arc<Mutex<Vec<TcpStream>>>,
    listening: Arc<Mutex<bool>>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let open = Arc::new(Mutex::new(Vec::new()));
        let listening = Arc::new(Mutex::new(true));
        let (o, l) = (open.clone(), listening.clone());
        let accept = std::thread::spawn(move || {
            for client in listener.incoming() {
                if !*l.lock().expect("lock") {
                    return;
                }
                let (Ok(client), Ok(upstream)) = (client, TcpStream::connect(NATS_ADDR)) else {
                    continue;
                };
                let mut streams = o.lock().expect("lock");
                for (from, to) in [(&client, &upstream), (&upstream, &client)] {
                    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
                        continue;
                    };
                    std::thread::spawn(move || {
                        let _ = io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
                streams.extend([client, upstream]);
            }
        });
        Ok(Self {
            port,
            open,
            listening,
            accept: Some(accept),
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        *self.listening.lock().expect("lock") = false;
        // Wakes the accept loop so it sees the flag and closes the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for s in self.open.lock().expect("lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
