//! The browser of the browser tests: Debian's chromium, headless, driven by chromedriver on
//! loopback (both installed by `make test`) through fantoccini, a maintained W3C WebDriver client.
//!
//! Two promises make these tests reliable:
//! - Every wait is explicit and bounded by [`WAIT`]: elements are waited for, and a click that
//!   leads to another page waits for that page ([`Browser::click_through`]). Nothing sleeps for a
//!   fixed time, and nothing is looked up only once on a page that may still be loading.
//! - [`with_browser`] owns the browser's whole life. Whatever the test does (passes, fails, panics)
//!   the WebDriver session is closed, chromedriver and every process chromium started are ended,
//!   and the throwaway profile is removed. chromedriver runs in its own process group and chromium
//!   keeps its config (crash handler included) in a fresh temporary directory, so "every process
//!   it started" is known without looking at anyone else's browsers.

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The longest any single wait may take: a page to load, an element to appear.
pub const WAIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);
/// The attribute [`Browser::click_through`] marks the page being left with.
const LEFT: &str = "data-ar-left";

/// Runs `test` with a fresh headless browser, then closes its session and ends every process
/// it started, whether `test` returned or panicked (the panic is then resumed).
pub async fn with_browser<F, Fut, T>(test: F) -> T
where
    F: FnOnce(Browser) -> Fut,
    Fut: Future<Output = T>,
{
    let driver = Driver::start().await;
    let client = driver.session().await;
    let mut body = Box::pin(test(Browser { client: client.clone() }));
    let outcome = std::future::poll_fn(|cx| match catch_unwind(AssertUnwindSafe(|| body.as_mut().poll(cx))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
        Err(panic) => Poll::Ready(Err(panic)),
    })
    .await;
    drop(body);
    let closed = tokio::time::timeout(WAIT, client.close()).await;
    drop(driver);
    match outcome {
        Err(panic) => resume_unwind(panic),
        Ok(value) => {
            closed
                .expect("the WebDriver session closes in time")
                .expect("the WebDriver session closes");
            value
        }
    }
}

/// One WebDriver session on a headless chromium.
#[derive(Clone)]
pub struct Browser {
    client: Client,
}

impl Browser {
    /// Opens `url` and waits for it to load.
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// The element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element `{css}` within {WAIT:?}: {e}"))
    }

    /// The text of the element matching `css`, once it is there.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("the text of `{css}`: {e}"))
    }

    /// The current page's title.
    pub async fn title(&self) -> String {
        self.client.title().await.expect("the page title")
    }

    /// Clicks the element matching `css` (a link or a form button) and waits for the page it
    /// leads to: a new document with an element matching `then` (one compound selector).
    ///
    /// The current document is marked before the click and `then` is looked for only in an
    /// unmarked one, in a single query: an element of the page being left can never match, and
    /// no reference to that page is used while the browser replaces it.
    pub async fn click_through(&self, css: &str, then: &str) {
        let button = self.find(css).await;
        self.client
            .execute(
                &format!("document.documentElement.setAttribute('{LEFT}', '')"),
                Vec::new(),
            )
            .await
            .expect("mark the current page");
        button.click().await.unwrap_or_else(|e| panic!("click `{css}`: {e}"));
        self.find(&format!("html:not([{LEFT}]) {then}")).await;
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("a screenshot");
        assert_eq!(&png[1..4], b"PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

/// chromedriver in its own process group, with a fresh temporary directory for chromium's
/// profile, config, cache and temporary files. Dropping it ends every process of that group and
/// any process outside it that uses the directory (chromium's crash handlers leave the group),
/// then removes the directory.
struct Driver {
    child: tokio::process::Child,
    pgid: i32,
    port: u16,
    dir: PathBuf,
}

impl Driver {
    async fn start() -> Driver {
        let dir = fresh_dir();
        let tmp = dir.join("tmp");
        let _ = std::fs::create_dir(&tmp);
        let child = tokio::process::Command::new("chromedriver")
            .arg("--port=0")
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                panic!("chromedriver runs (make test installs chromium and chromium-driver): {e}");
            }
        };
        let pgid = child.id().expect("chromedriver's pid") as i32;
        let stdout = child.stdout.take().expect("chromedriver's stdout");
        let mut driver = Driver {
            child,
            pgid,
            port: 0,
            dir,
        };
        // `--port=0` lets chromedriver pick a free port, which it prints; no other run can take it.
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let port = tokio::time::timeout(WAIT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(port) = line
                    .strip_prefix("ChromeDriver was started successfully on port ")
                    .and_then(|p| p.trim_end_matches('.').parse().ok())
                {
                    return Some(port);
                }
                seen.push(line);
            }
            None
        })
        .await;
        let Ok(Some(port)) = port else {
            panic!("chromedriver did not say its port within {WAIT:?}: {seen:?}");
        };
        driver.port = port;
        // Keep reading what it prints, so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        driver
    }

    // fantoccini's session error is large; it is only ever printed here.
    #[allow(clippy::result_large_err)]
    async fn session(&self) -> Client {
        let serde_json::Value::Object(capabilities) = json!({
            "browserName": "chrome",
            "timeouts": { "implicit": 0, "pageLoad": WAIT.as_millis() as u64, "script": WAIT.as_millis() as u64 },
            "goog:chromeOptions": {
                "binary": chromium(),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--window-size=1100,1400",
                         format!("--user-data-dir={}", self.dir.join("profile").display())]
            }
        }) else {
            unreachable!()
        };
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let url = format!("http://127.0.0.1:{}", self.port);
        tokio::time::timeout(WAIT, builder.connect(&url))
            .await
            .unwrap_or_else(|_| panic!("no chromium session within {WAIT:?}"))
            .unwrap_or_else(|e| panic!("a chromium session: {e}"))
    }

    /// The live (not zombie) processes of chromedriver's group, and those using our directory.
    fn processes(&self) -> Vec<i32> {
        let Ok(proc) = std::fs::read_dir("/proc") else {
            // No /proc: the group is all we can see. kill(-pgid, 0) fails once it is empty.
            // SAFETY: signal 0 only checks that the group exists.
            let alive = unsafe { libc::kill(-self.pgid, 0) } == 0;
            return if alive { vec![-self.pgid] } else { Vec::new() };
        };
        let dir = self.dir.display().to_string();
        let me = std::process::id() as i32;
        proc.flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|&pid| pid != me)
            .filter(|&pid| {
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    return false;
                };
                // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
                let mut rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("").split_whitespace();
                let (state, pgrp) = (rest.next(), rest.nth(1).and_then(|p| p.parse::<i32>().ok()));
                if state == Some("Z") {
                    return false;
                }
                pgrp == Some(self.pgid)
                    || std::fs::read(format!("/proc/{pid}/cmdline"))
                        .map(|c| String::from_utf8_lossy(&c).contains(&dir))
                        .unwrap_or(false)
            })
            .collect()
    }

    /// Sends `signal` to the group and every other process using our directory, then waits
    /// (at most `grace`) for all of them to end. Returns whether they did.
    fn signal_and_wait(&mut self, signal: i32, grace: Duration) -> bool {
        for pid in self.processes() {
            // SAFETY: plain kill(2) on chromedriver's group (pid < 0) or a process running with
            // our temporary directory; both were started by this run.
            unsafe { libc::kill(pid, signal) };
        }
        // SAFETY: as above, the group chromedriver leads.
        unsafe { libc::kill(-self.pgid, signal) };
        let start = Instant::now();
        loop {
            let _ = self.child.try_wait(); // reap chromedriver, our child
            if self.processes().is_empty() {
                return true;
            }
            if start.elapsed() > grace {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.signal_and_wait(libc::SIGTERM, Duration::from_secs(3))
            && !self.signal_and_wait(libc::SIGKILL, Duration::from_secs(5))
        {
            eprintln!("browser processes still running after SIGKILL: {:?}", self.processes());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian's chromium: the first `chromium` on the PATH.
fn chromium() -> String {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
        .display()
        .to_string()
}

/// A new, empty directory of our own under the system's temporary directory.
fn fresh_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "ar-browser-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("create {}: {e}", dir.display()),
        }
    }
}
