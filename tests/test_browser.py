"""The sliders really work: JupyterLab driven by a real browser (Playwright + Debian's chromium).

nbval runs the cells but never renders a widget. This test starts JupyterLab from the project's
venv on a free loopback port (random token, temporary copy of the notebooks, quick mode), opens a
notebook in headless chromium, runs all its cells, then drags the explorer's depth slider and
clicks one of its toggles the way a learner would, and checks after each step that the plot's PNG
changed and that no cell shows an error. Screenshots of every state go to
``$CI_LOG_DIR/browser/`` (default ``ci-logs/browser/``), with the server's log.

Skipped, with the reason, when Playwright or chromium is missing (``.ci/run`` installs chromium
from Debian's packages). Chromium is found as ``$CHROMIUM`` or ``chromium`` on the PATH;
Playwright's own browser download is never used.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SHOTS = Path(os.environ.get("CI_LOG_DIR") or ROOT / "ci-logs") / "browser"
# The environment as pytest started, before tests/conftest.py hides CIFAR10_DIR and friends from
# each test: the server and its kernels get what a learner's shell would give them.
START_ENVIRONMENT = dict(os.environ)

SERVER_START_S = 90      # JupyterLab answering /api/status
PAGE_READY_S = 90        # notebook open, kernel idle
RUN_ALL_S = 480          # every cell executed (04 quick: ~30 s in nbval on an idle 2-core CPU)
REDRAW_S = 60            # one explorer redraw after a slider/toggle change

pytestmark = pytest.mark.slow


# --------------------------------------------------------------------------- the browser
# The `browser` fixture (headless chromium through Playwright) is in tests/conftest.py, shared with test_book.py.


# --------------------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list:
    """The live processes below ``pid`` (kernels start in their own session, not our group)."""
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@dataclass
class Lab:
    url: str
    token: str
    directory: Path
    process: subprocess.Popen
    log: Path
    seen: dict[int, object] = field(default_factory=dict)  # pid -> psutil.Process, kernels included

    def api(self, path: str, method: str = "GET", timeout: float = 5):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return json.loads(body) if body else None

    def remember_children(self) -> None:
        for child in descendants(self.process.pid):
            self.seen.setdefault(child.pid, child)

    def log_tail(self, n: int = 40) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])


def lab_environment(home: Path) -> dict[str, str]:
    """The server's (and so the kernels') environment: quick mode, the default (inline) matplotlib
    backend a learner gets, and Jupyter/IPython config and data in a temporary home so that no
    user kernel spec, setting or workspace leaks in."""
    env = dict(START_ENVIRONMENT)
    env.pop("MPLBACKEND", None)
    env.update(
        RESNET_QUICK="1",
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env.pop("JUPYTER_PATH", None)
    return env


def write_settings(settings: Path) -> None:
    """No Jupyter-news toast over the page, every cell attached to the DOM, cell timings recorded."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                            "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none",
                                                                       "recordTiming": True},
    }
    for name, content in files.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


def stop(lab: Lab) -> list[str]:
    """Shut the server down (it shuts its kernels down), kill whatever is left; return what had
    to be killed or survived, as text."""
    import psutil

    lab.remember_children()
    if lab.process.poll() is None:
        try:
            lab.api("/api/shutdown", method="POST")
        except (OSError, urllib.error.URLError):
            pass
        try:
            lab.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    killed = []
    if lab.process.poll() is None:
        killed.append(f"jupyter server {lab.process.pid}")
        try:
            os.killpg(lab.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        lab.process.wait(timeout=10)
    for child in lab.seen.values():
        if alive(child):
            killed.append(describe_process(child))
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
    psutil.wait_procs(list(lab.seen.values()), timeout=10)
    return killed


def alive(process) -> bool:
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def describe_process(process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline()[:4])}"
    except Exception:  # gone or not readable
        return str(process.pid)


@pytest.fixture(scope="module")
def lab(browser):
    """JupyterLab from this venv on a free loopback port, with a random token, serving a
    temporary copy of the notebooks; shut down (kernels included) whatever the test did."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="resnet-lab-") as tmp:
        tmp = Path(tmp)
        work = tmp / "notebooks"
        work.mkdir()
        for notebook in NOTEBOOKS.glob("*.ipynb"):
            shutil.copy2(notebook, work / notebook.name)
        write_settings(tmp / "user-settings")
        token, port = secrets.token_hex(24), free_port()
        log = SHOTS / "jupyterlab.log"
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
            "--LabApp.expose_app_in_browser=True",
            f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
            f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
            "--ServerApp.terminals_enabled=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root
        with open(log, "w") as log_file:
            process = subprocess.Popen(command, cwd=work, env=lab_environment(tmp), stdin=subprocess.DEVNULL,
                                       stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        server = Lab(f"http://127.0.0.1:{port}", token, work, process, log)
        try:
            deadline = time.monotonic() + SERVER_START_S
            while True:
                if process.poll() is not None:
                    pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
                try:
                    server.api("/api/status", timeout=2)
                    break
                except (OSError, urllib.error.URLError):
                    if time.monotonic() > deadline:
                        pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{server.log_tail()}")
                    time.sleep(0.5)
            yield server
        finally:
            killed = stop(server)
            left = [describe_process(c) for c in server.seen.values() if alive(c)]
            assert not left, f"processes left behind by JupyterLab: {left}"
            if killed:
                warnings.warn(f"JupyterLab's shutdown left processes that the test killed: {killed}", stacklevel=1)


# --------------------------------------------------------------------------- driving the notebook

CELL_REPORT = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  const report = {errors: [], unexecuted: [], running: [], seconds: {},
                  kernel: panel.sessionContext.session?.kernel?.status ?? 'none'};
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code' || !cell.sharedModel.getSource().trim()) continue;
    if (cell.executionCount === null) report.unexecuted.push(i);
    if (cell.executionState === 'running') report.running.push(i);
    const timing = cell.getMetadata('execution');
    if (timing && timing['iopub.execute_input'] && timing['shell.execute_reply']) {
      report.seconds[i] = (Date.parse(timing['shell.execute_reply'])
                           - Date.parse(timing['iopub.execute_input'])) / 1000;
    }
    for (const output of cell.outputs.toJSON()) {
      if (output.output_type === 'error') report.errors.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
    }
  }
  return report;
}"""


def open_notebook(browser, lab: Lab, name: str, front_end: str = "/lab/tree"):
    """Open ``name`` in a new page (``front_end``: JupyterLab's ``/lab/tree``, or Notebook 7's
    ``/notebooks``) and wait until its kernel is idle."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(f"{lab.url}{front_end}/{name}?token={lab.token}")
    page.wait_for_function(
        """(name) => {
          const app = window.jupyterapp;
          const panel = app && app.shell.currentWidget;
          return !!(panel && panel.context && panel.context.path === name && panel.context.isReady
                    && panel.sessionContext.session?.kernel?.status === 'idle');
        }""", arg=name, timeout=PAGE_READY_S * 1000)
    lab.remember_children()
    return page


def run_all(page, lab: Lab) -> tuple[float, dict[int, float]]:
    """Run every cell through JupyterLab's own command (Run > Run All Cells) and wait until all
    have run; return the seconds it took and the slowest cells' seconds (JupyterLab's timings)."""
    start = time.monotonic()
    page.evaluate("""() => {
      window.__runAll = undefined;
      window.jupyterapp.commands.execute('notebook:run-all-cells').then(
        (ok) => { window.__runAll = ok === false ? 'failed' : 'done'; },
        (error) => { window.__runAll = 'error: ' + error; });
    }""")
    while True:
        outcome, report = page.evaluate(f"() => [window.__runAll, ({CELL_REPORT})()]")
        if outcome is not None and report["kernel"] == "idle" and not report["running"]:
            break
        if time.monotonic() - start > RUN_ALL_S:
            pytest.fail(f"run all cells: not done after {RUN_ALL_S} s; running cell(s) {report['running']}, "
                        f"{len(report['unexecuted'])} not run yet, kernel {report['kernel']}; "
                        f"cell seconds so far {report['seconds']}")
        lab.remember_children()
        time.sleep(1)
    seconds = time.monotonic() - start
    assert not report["errors"], f"cells raised: {report['errors']}"
    assert outcome == "done", f"run-all-cells finished with {outcome!r}"
    assert not report["unexecuted"], f"cells never ran: {report['unexecuted']}"
    slowest = dict(sorted(((int(i), t) for i, t in report["seconds"].items()), key=lambda it: -it[1])[:5])
    return seconds, slowest


def assert_no_error_shown(page) -> None:
    """Nothing on screen looks like an error: no traceback, no widget that failed to render."""
    report = page.evaluate(CELL_REPORT)
    assert not report["errors"], f"cells raised: {report['errors']}"
    stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    tracebacks = [text for text in stderr.all_inner_texts() if "Traceback" in text]
    assert not tracebacks, f"error output on the page: {tracebacks[0][:2000]}"
    for text in ("Error displaying widget", "Failed to load model", "Error rendering"):
        assert page.get_by_text(text).count() == 0, f"a widget shows {text!r}"


def plot_src(explorer) -> str:
    """The explorer's figure as the data URL of its <img> (a PNG drawn by the kernel)."""
    image = explorer.locator(".widget-output img")
    image.first.wait_for(state="visible", timeout=REDRAW_S * 1000)
    assert image.count() == 1, f"expected one plot in the explorer, found {image.count()}"
    src = image.get_attribute("src")
    assert src and src.startswith("data:image/png;base64,"), f"plot is not an inline PNG: {src[:80]!r}"
    return src


def wait_for_new_plot(page, explorer, before: str) -> str:
    """Wait until the explorer shows a different PNG (one redraw in the kernel)."""
    handle = explorer.element_handle()
    page.wait_for_function(
        """([box, before]) => {
          const imgs = box.querySelectorAll('.widget-output img');
          return imgs.length === 1 && imgs[0].complete && imgs[0].getAttribute('src') !== before;
        }""", arg=[handle, before], timeout=REDRAW_S * 1000)
    return plot_src(explorer)


def slider(explorer, description: str):
    return explorer.locator(".widget-slider").filter(
        has=explorer.page.locator("label", has_text=re.compile(rf"^{re.escape(description)}$")))


def drag_slider(page, control, fraction: float) -> str:
    """Drag the slider's handle with the mouse to ``fraction`` of its track; return the readout."""
    handle = control.locator(".noUi-handle")
    track = control.locator(".noUi-base").bounding_box()
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    target = track["x"] + fraction * track["width"]
    page.mouse.move(target, box["y"] + box["height"] / 2, steps=12)
    page.mouse.up()
    return control.locator(".widget-readout").inner_text().strip()


def shot(explorer, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    explorer.screenshot(path=str(path))
    return path


def explore(browser, lab: Lab, notebook: str, css: str, prefix: str, toggle: str,
            front_end: str = "/lab/tree") -> dict:
    """Open ``notebook``, run all cells, drag the explorer's depth slider and click ``toggle``,
    checking after each step that the plot changed and no error shows; screenshots of each state
    as ``<prefix>_<step>_<state>.png``."""
    for old in SHOTS.glob(f"{prefix}_*.png"):  # the folder shows the last run only
        old.unlink()
    page = open_notebook(browser, lab, notebook, front_end)
    try:
        seconds, slowest = run_all(page, lab)
        assert_no_error_shown(page)
        explorer = page.locator(f".{css}")
        assert explorer.count() == 1, f"expected one .{css} on the page, found {explorer.count()}"
        explorer.scroll_into_view_if_needed()
        numbers = explorer.locator(f".{css}-numbers")

        plot0, line0 = plot_src(explorer), numbers.inner_text()
        depth = slider(explorer, "depth")
        depth0 = depth.locator(".widget-readout").inner_text().strip()
        shot(explorer, f"{prefix}_1_initial")

        depth1 = drag_slider(page, depth, 0.75)
        assert depth1 != depth0, f"dragging the depth slider left it at {depth0}"
        plot1 = wait_for_new_plot(page, explorer, plot0)
        page.wait_for_function("([el, before]) => el.innerText !== before",
                               arg=[numbers.element_handle(), line0], timeout=REDRAW_S * 1000)
        line1 = numbers.inner_text()
        shot(explorer, f"{prefix}_2_depth_{depth1}")

        button = explorer.locator("button.widget-toggle-button",  # its label: "residual: on" / "residual: off"
                                  has_text=re.compile(rf"^\s*{toggle}: (on|off)\s*$"))
        assert button.count() == 1, f"no {toggle!r} toggle in the explorer"
        was_on = "mod-active" in (button.get_attribute("class") or "")
        button.click()
        plot2 = wait_for_new_plot(page, explorer, plot1)
        is_on = "mod-active" in (button.get_attribute("class") or "")
        assert is_on != was_on, f"clicking {toggle!r} did not toggle it"
        shot(explorer, f"{prefix}_3_{toggle.replace(' ', '_')}_{'on' if is_on else 'off'}")

        assert len({plot0, plot1, plot2}) == 3, "the plot did not change at every step"
        assert_no_error_shown(page)
        return {"run_all_s": seconds, "slowest_cells_s": slowest, "depth": (depth0, depth1),
                "toggle": (was_on, is_on), "numbers": (line0, line1, numbers.inner_text())}
    except BaseException:
        try:  # the whole page as it was when the test failed
            page.screenshot(path=str(SHOTS / f"{prefix}_failure_page.png"))
        except Exception:  # the page may be gone; the original error matters
            pass
        raise
    finally:
        page.close()


def report(notebook: str, result: dict) -> None:
    """One line per notebook for `pytest -s` and CI logs."""
    print(f"\n{notebook}: run all {result['run_all_s']:.0f} s (slowest cells, s: {result['slowest_cells_s']}); "
          f"depth {result['depth'][0]} -> {result['depth'][1]}; numbers line per state: {result['numbers']}")


def test_variance_explorer_in_jupyterlab(browser, lab):
    """Runs all of 04 in JupyterLab first (about 200 s on a 2-core Zen 3, its training included), so make test
    leaves it to RESNET_BROWSER_NOTEBOOKS=all; 02's explorer test runs the same browser checks in CI."""
    if os.environ.get("RESNET_BROWSER_NOTEBOOKS") != "all":
        pytest.skip("04 in JupyterLab takes minutes: set RESNET_BROWSER_NOTEBOOKS=all to run it")
    from helpers.data import DataNotFoundError, locate_cifar10

    try:  # where the kernel will look: $CIFAR10_DIR as pytest started, else data/
        locate_cifar10(START_ENVIRONMENT.get("CIFAR10_DIR") or None, download=False)
    except DataNotFoundError:
        pytest.skip("notebook 04 needs CIFAR-10: CIFAR10_DIR is not set and data/ is empty (see README)")
    result = explore(browser, lab, "04_batch_norm.ipynb", "explorer-variance", "04_variance", "batch norm")
    report("04", result)


def test_shattered_gradients_explorer_in_jupyterlab(browser, lab):
    result = explore(browser, lab, "02_shattered_gradients.ipynb", "explorer-shattered", "02_shattered", "residual")
    report("02", result)
