"""The ctlab Java kernel driven through jupyter_client, as JupyterLab would (run via kernel/test/run.sh).

One kernel serves the module (like one notebook session); tests that need isolation start their own.
"""
import base64
import os
import queue
import struct
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

HERE = Path(__file__).resolve().parent
TMP = Path(os.environ.get("CTLAB_TEST_TMP", "/tmp"))


@pytest.fixture(scope="module")
def kernel():
    km, kc = start_new_kernel(kernel_name="ctlab", startup_timeout=60)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def execute(kc, code, timeout=120):
    """Runs a cell; returns (reply content, iopub messages of this cell)."""
    msgs = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=msgs.append, allow_stdin=False)
    return reply["content"], msgs


def result(msgs):
    found = [m["content"]["data"] for m in msgs if m["msg_type"] == "execute_result"]
    return found[-1] if found else None


def stream(msgs, name):
    return "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream" and m["content"]["name"] == name)


def ok(kc, code, timeout=120):
    reply, msgs = execute(kc, code, timeout)
    assert reply["status"] == "ok", f"cell failed: {code!r}: {reply.get('ename')}: {reply.get('evalue')}\n" + \
        "\n".join(reply.get("traceback", []))
    return msgs


def value(kc, code):
    data = result(ok(kc, code))
    assert data is not None, f"no value from {code!r}"
    return data["text/plain"]


def png_size(b64):
    raw = base64.b64decode(b64)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert raw[12:16] == b"IHDR"
    return struct.unpack(">II", raw[16:24])


# ---- evaluation -------------------------------------------------------------------------------------

def test_expression_value(kernel):
    _, kc = kernel
    assert value(kc, "1 + 2") == "3"
    assert value(kc, '"ab".repeat(2)') == "abab"


def test_stdout_and_stderr_streams(kernel):
    _, kc = kernel
    msgs = ok(kc, 'System.out.println("to out"); System.err.println("to err"); System.out.print("no newline")')
    assert stream(msgs, "stdout") == "to out\nno newline"
    assert stream(msgs, "stderr") == "to err\n"
    assert result(msgs) is None, "a void call has no value to show"


def test_multi_snippet_cell(kernel):
    _, kc = kernel
    assert value(kc, "int a = 20;\nint b = 22;\nString s = \"x\";\na + b") == "42"


def test_method_defined_in_one_cell_used_in_the_next(kernel):
    _, kc = kernel
    ok(kc, "long square(long x) { return x * x; }")
    assert value(kc, "square(12)") == "144"
    ok(kc, "record Point(int x, int y) { int sum() { return x + y; } }")
    assert value(kc, "new Point(3, 4).sum()") == "7"


def test_default_imports_and_toolkit_on_classpath(kernel):
    _, kc = kernel
    assert value(kc, "List.of(1, 2, 3).stream().map(i -> i * 2).collect(Collectors.toList())") == "[2, 4, 6]"
    assert value(kc, "Lab.version()") != ""
    assert value(kc, "Path.of(\"a\", \"b\").toString()") == "a/b"


# ---- rich display -----------------------------------------------------------------------------------

def test_tablesaw_table_renders_as_html(kernel):
    _, kc = kernel
    data = result(ok(kc, 'Table t = Table.create("scores").addColumns(StringColumn.create("tok", "<a>", "b"),'
                         ' DoubleColumn.create("s", 0.5, 1.25));\nt'))
    html = data["text/html"]
    assert html.startswith("<table")
    assert "<th>tok</th>" in html and "<th>s</th>" in html
    assert "&lt;a&gt;" in html and "1.25" in html
    assert "scores (2 rows × 2 columns)" in html
    assert "tok" in data["text/plain"]


def test_table_numbers_are_formatted_and_arrays_show_contents(kernel):
    _, kc = kernel
    data = result(ok(kc, 'Table.create("stats").addColumns(DoubleColumn.create("acc", 0.43455096039387586),'
                         ' DoubleColumn.create("p", 6.5399e-12))'))
    for mime in ("text/html", "text/plain"):
        assert "0.4346" in data[mime] and "6.54e-12" in data[mime], data[mime]
        assert "0.434550" not in data[mime] and "0.00000" not in data[mime]
    assert value(kc, "new double[]{0.5, 2}") == "[0.5, 2.0]"
    assert value(kc, 'new String[][]{{"a"}, {"b", "c"}}') == "[[a], [b, c]]"
    assert value(kc, "new int[1000]").endswith(", … (900 more)]")


def test_xchart_renders_as_png_of_the_chart_size(kernel):
    _, kc = kernel
    data = result(ok(kc, 'XYChart chart = new XYChartBuilder().width(420).height(260).title("loss").build();\n'
                         'chart.addSeries("train", new double[]{1, 2, 3}, new double[]{3, 1.5, 1});\nchart'))
    assert png_size(data["image/png"]) == (420, 260)
    assert "loss" in data["text/plain"]


def test_chart_as_svg_on_request_and_display_ids(kernel):
    _, kc = kernel
    msgs = ok(kc, 'display(chart, "image/svg+xml")')
    shown = [m for m in msgs if m["msg_type"] == "display_data"]
    assert len(shown) == 1
    assert "<svg" in shown[0]["content"]["data"]["image/svg+xml"]
    assert shown[0]["content"]["transient"]["display_id"]
    assert result(msgs) is None, "display(...) shows the value, not its display id as Out"
    assert len(value(kc, 'String shownId = display("x");\nshownId')) > 0, "a display id asked for by name is shown"


def test_buffered_image_and_heat_map(kernel):
    _, kc = kernel
    data = result(ok(kc, "new java.awt.image.BufferedImage(31, 17, java.awt.image.BufferedImage.TYPE_INT_RGB)"))
    assert png_size(data["image/png"]) == (31, 17)
    data = result(ok(kc, 'TokenHeatMap.of(List.of("The", " answer", " is"), new double[]{0.1, -0.8, 0.4})'))
    assert 'title="The : 0.1000"' in data["text/html"]
    assert "background:#" in data["text/html"]


def test_update_display_in_place(kernel):
    _, kc = kernel
    msgs = ok(kc, 'String id = display("step 1");\nupdateDisplay(id, "step 2");')
    shown = [m for m in msgs if m["msg_type"] == "display_data"]
    updated = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert len(shown) == 1 and len(updated) == 1
    assert shown[0]["content"]["transient"]["display_id"] == updated[0]["content"]["transient"]["display_id"]
    assert updated[0]["content"]["data"]["text/plain"] == "step 2"


def test_toolkit_progress_is_one_display_updated_in_place(kernel):
    _, kc = kernel
    msgs = ok(kc, 'try (var p = ctlab.io.Progress.start("steps", 3)) {\n'
                  '  for (int i = 0; i < 3; i++) { Thread.sleep(250); p.step("loss " + i); }\n}')
    shown = [m for m in msgs if m["msg_type"] == "display_data"]
    updated = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert len(shown) == 1, "one output per progress bar"
    assert len(updated) >= 2, "updated in place as it advances"
    ids = {m["content"]["transient"]["display_id"] for m in shown + updated}
    assert len(ids) == 1
    assert "3/3" in updated[-1]["content"]["data"]["text/plain"]
    assert "<progress" in updated[-1]["content"]["data"]["text/html"]
    assert "\r" not in stream(msgs, "stderr"), "no carriage-return bars in the notebook"


# ---- errors -----------------------------------------------------------------------------------------

def test_compile_error_is_reported_and_next_cell_runs(kernel):
    _, kc = kernel
    reply, msgs = execute(kc, 'int fine = 1;\nint broken = "text";')
    assert reply["status"] == "error"
    assert reply["ename"] == "CompilationError"
    assert "incompatible types" in reply["evalue"]
    assert any("line 2" in line for line in reply["traceback"]), reply["traceback"]
    assert [m for m in msgs if m["msg_type"] == "error"], "an error message on iopub too"
    assert value(kc, "fine + 1") == "2"


def test_compile_error_is_one_line_with_a_hint_for_python_habits(kernel):
    _, kc = kernel
    reply, _ = execute(kc, 'print("hi")')
    assert reply["status"] == "error" and reply["evalue"] == "cannot find symbol: method print(java.lang.String)"
    assert not any("location: class" in line for line in reply["traceback"]), reply["traceback"]
    assert "System.out.println" in reply["traceback"][-1]


def test_runtime_exception_is_reported_and_next_cell_runs(kernel):
    _, kc = kernel
    reply, _ = execute(kc, 'throw new IllegalStateException("boom")')
    assert reply["status"] == "error"
    assert reply["ename"] == "IllegalStateException" and reply["evalue"] == "boom"
    reply, _ = execute(kc, "Integer.parseInt(\"x1\")")
    assert reply["status"] == "error" and reply["ename"] == "NumberFormatException"
    assert value(kc, "2 * 21") == "42"


def test_error_from_tostring_does_not_kill_the_kernel(kernel):
    _, kc = kernel
    ok(kc, 'class Nasty { @Override public String toString() { throw new AssertionError("no string for you"); } }')
    reply, _ = execute(kc, "new Nasty()")
    assert reply["status"] == "error"
    assert "no string for you" in reply["evalue"]
    reply, _ = execute(kc, 'throw new OutOfMemoryError("pretend")')
    assert reply["status"] == "error" and reply["ename"] == "OutOfMemoryError"
    reply, _ = execute(kc, "void deep(int n) { deep(n + 1); }\ndeep(0)")
    assert reply["status"] == "error" and reply["ename"] == "StackOverflowError"
    assert value(kc, '"alive"') == "alive"


@pytest.fixture
def own_kernel():
    """A kernel of its own, for tests whose failure could take the kernel down."""
    km, kc = start_new_kernel(kernel_name="ctlab", startup_timeout=60)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_system_exit_in_a_cell_is_an_error_and_the_kernel_lives(own_kernel):
    km, kc = own_kernel
    reply, _ = execute(kc, 'System.out.println("before");\nSystem.exit(3)', timeout=60)
    assert reply["status"] == "error", reply
    assert reply["ename"] == "SystemExit" and "System.exit(3)" in reply["evalue"], reply
    assert km.is_alive()
    assert value(kc, "1 + 1") == "2"
    reply, _ = execute(kc, "Runtime.getRuntime().halt(4)", timeout=60)
    assert reply["status"] == "error" and reply["ename"] == "SystemExit", reply
    # library code that exits (the CLI's main) is stopped the same way; its output still arrives
    reply, msgs = execute(kc, 'ctlab.cli.Main.main(new String[] {"--version"})', timeout=60)
    assert reply["status"] == "error" and reply["ename"] == "SystemExit", reply
    assert "ctlab 0.1.0" in stream(msgs, "stdout")
    assert value(kc, '"alive"') == "alive" and km.is_alive()


def test_many_printed_lines_are_sent_in_few_messages_in_order(kernel):
    _, kc = kernel
    n = 20_000
    msgs = ok(kc, f"for (int i = 0; i < {n}; i++) System.out.println(\"line \" + i);", timeout=300)
    out = [m for m in msgs if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"]
    assert stream(msgs, "stdout") == "".join(f"line {i}\n" for i in range(n))
    assert len(out) <= n // 10, f"{len(out)} stream messages for {n} lines"


def test_stdout_stderr_and_display_keep_their_order(kernel):
    _, kc = kernel
    msgs = ok(kc, 'System.out.println("a"); System.err.println("b"); System.out.print("c");\n'
                  'display("d");\nSystem.err.print("e"); System.out.print("f");')
    seq = []
    for m in msgs:
        if m["msg_type"] == "stream":
            item = (m["content"]["name"], m["content"]["text"])
        elif m["msg_type"] == "display_data":
            item = ("display", m["content"]["data"]["text/plain"])
        else:
            continue
        if seq and seq[-1][0] == item[0] and item[0] != "display":
            seq[-1] = (item[0], seq[-1][1] + item[1])
        else:
            seq.append(item)
    assert seq == [("stdout", "a\n"), ("stderr", "b\n"), ("stdout", "c"), ("display", "d"),
                   ("stderr", "e"), ("stdout", "f")]


def test_output_is_sent_while_the_cell_runs(kernel):
    _, kc = kernel
    arrived = []      # (client arrival time, message): the kernel's header dates are only minute-precise
    reply = kc.execute_interactive('System.out.print("started");\nThread.sleep(4000);\nSystem.out.print("done");',
                                   timeout=120, allow_stdin=False,
                                   output_hook=lambda m: arrived.append((time.monotonic(), m)))
    assert reply["content"]["status"] == "ok"
    out = [(t, m) for t, m in arrived if m["msg_type"] == "stream"]
    assert [m["content"]["text"] for _, m in out] == ["started", "done"]
    assert out[1][0] - out[0][0] > 2, "the first output waited for the end of the cell"


def replies_to(kc, *msg_ids, timeout=60):
    """The shell replies to the given requests (in any order), by msg_id."""
    got = {}
    while len(got) < len(msg_ids):
        r = kc.get_shell_msg(timeout=timeout)
        if r["parent_header"].get("msg_id") in msg_ids:
            got[r["parent_header"]["msg_id"]] = r["content"]
    return got


def test_queued_cell_after_an_error_is_aborted(kernel):
    _, kc = kernel
    # The failing cell waits until the next cell has been sent (and a second for it to reach the kernel's socket),
    # so that one is queued when the error happens.
    sent = TMP / f"queued-{os.getpid()}"
    failing = kc.execute(f'while (!Files.exists(Path.of("{sent}"))) Thread.sleep(20);\nThread.sleep(1000);\n'
                         'throw new IllegalStateException("stop here")')
    queued = kc.execute("int ranAfterError = 1;")
    sent.write_text("x")
    r = replies_to(kc, failing, queued)
    assert r[failing]["status"] == "error" and r[failing]["evalue"] == "stop here"
    assert r[queued]["status"] == "aborted", r[queued]
    reply, _ = execute(kc, "ranAfterError")
    assert reply["status"] == "error", "the aborted cell must not have run"
    assert value(kc, '"runs again"') == "runs again", "only cells queued at the error are aborted"

    # stop_on_error=False (e.g. nbclient's allow_errors / a raises-exception cell): the queue keeps running
    sent.unlink()
    failing = kc.execute(f'while (!Files.exists(Path.of("{sent}"))) Thread.sleep(20);\nThread.sleep(1000);\n'
                         'throw new IllegalStateException("keep going")', stop_on_error=False)
    queued = kc.execute("int ranAfterError = 2;")
    sent.write_text("x")
    r = replies_to(kc, failing, queued)
    assert r[failing]["status"] == "error" and r[queued]["status"] == "ok"
    assert value(kc, "ranAfterError") == "2"


# ---- interrupt --------------------------------------------------------------------------------------

def run_and_interrupt(km, kc, code, after=1.5, timeout=30):
    msg_id = kc.execute(code)
    time.sleep(after)
    t0 = time.time()
    km.interrupt_kernel()
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    # drain iopub up to idle for this request
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" \
                and msg["content"]["execution_state"] == "idle":
            break
    return reply["content"], time.time() - t0


def test_sleep_is_interrupted_politely(kernel):
    km, kc = kernel
    reply, took = run_and_interrupt(km, kc, "Thread.sleep(120_000)")
    assert reply["status"] == "error"
    assert reply["ename"] == "InterruptedException"
    assert value(kc, '"after sleep"') == "after sleep"


def test_busy_loop_is_force_stopped(kernel):
    km, kc = kernel
    reply, took = run_and_interrupt(km, kc, "long spins = 0;\nwhile (true) { spins++; }")
    assert reply["status"] == "error"
    assert reply["ename"] == "Interrupted"
    assert value(kc, '"after loop"') == "after loop"
    assert int(value(kc, "spins")) > 0, "variables declared before the loop keep their state"


def test_loop_that_swallows_interrupts_is_force_stopped(kernel):
    km, kc = kernel
    reply, _ = run_and_interrupt(
        km, kc, "while (true) { try { Thread.sleep(100); } catch (InterruptedException ignored) { } }")
    assert reply["status"] == "error" and reply["ename"] == "Interrupted"
    assert value(kc, "1") == "1"


# ---- protocol ---------------------------------------------------------------------------------------

def test_message_with_wrong_signature_is_not_executed(kernel):
    km, kc = kernel
    marker = TMP / f"pwned-{os.getpid()}"
    bad = km.client()
    bad.session.key = b"definitely-not-the-key"
    bad.start_channels()
    try:
        bad.execute(f'java.nio.file.Files.writeString(java.nio.file.Path.of("{marker}"), "x")')
        with pytest.raises(queue.Empty):
            bad.get_shell_msg(timeout=3)
    finally:
        bad.stop_channels()
    assert not marker.exists(), "a message signed with the wrong key was executed"
    assert value(kc, '"still serving"') == "still serving"


def test_completion_and_is_complete(kernel):
    _, kc = kernel
    ok(kc, 'String word = "abc";')
    code = 'int other = 1;\nword.toUpp'        # the cursor is in the cell's second snippet
    reply = kc.complete(code, len(code), reply=True, timeout=30)["content"]
    assert reply["status"] == "ok"
    assert any(m.startswith("toUpperCase(") for m in reply["matches"]), reply["matches"]
    assert code[reply["cursor_start"]:reply["cursor_end"]] == "toUpp"
    reply = kc.complete("%lsm", 4, reply=True, timeout=30)["content"]
    assert reply["matches"] == ["lsmagic"]

    def is_complete(src):
        msg_id = kc.is_complete(src)
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    assert is_complete("int x = 1;")["status"] == "complete"
    assert is_complete("int y = 1;\nint z = 2;")["status"] == "complete"
    r = is_complete("for (int i = 0; i < 3; i++) {")
    assert r["status"] == "incomplete" and r["indent"] == "    "
    assert is_complete('String s = "unterminated')["status"] in ("incomplete", "invalid")


def test_inspect_shows_signature(kernel):
    _, kc = kernel
    code = '"abc".substring('
    reply = kc.inspect(code, len(code), reply=True, timeout=30)["content"]
    assert reply["status"] == "ok" and reply["found"]
    assert "substring(int" in reply["data"]["text/plain"]


def test_inspect_on_a_bare_name_shows_the_toolkit_javadoc(kernel):
    _, kc = kernel

    def inspect(code, cursor):
        reply = kc.inspect(code, cursor, reply=True, timeout=30)["content"]
        assert reply["status"] == "ok" and reply["found"], (code, cursor, reply)
        return reply["data"]["text/plain"]

    # ctlab.analysis is imported by default; the Javadoc comes from the toolkit's sources jar
    for code, cursor in [("Analyses.passAtK", 16), ("Analyses.passAtK", 12), ("Analyses.passAtK(", 17)]:
        text = inspect(code, cursor)
        assert "passAtK(" in text and "with vs without the critical token" in text, text
    text = inspect("TokenHeatMap", 5)
    assert "TokenHeatMap" in text and "Tokens coloured by a per-token score" in text, "a type's Javadoc too: " + text


def test_history_is_answered(kernel):
    _, kc = kernel
    ok(kc, "int historyMarker = 7;")
    reply = kc.history(hist_access_type="tail", n=50, reply=True, timeout=30)["content"]
    assert reply["status"] == "ok"
    assert any("historyMarker" in h[2] for h in reply["history"])


# ---- magics -----------------------------------------------------------------------------------------

def test_magics(kernel, tmp_path):
    _, kc = kernel
    assert "%classpath" in value(kc, "%lsmagic") and "%%time" in value(kc, "%lsmagic")
    msgs = ok(kc, "%time int timed = 6 * 7;")
    assert "Wall time:" in stream(msgs, "stdout")
    msgs = ok(kc, "%%time\nint t1 = 1;\nt1 + 1")
    assert "Wall time:" in stream(msgs, "stdout") and result(msgs)["text/plain"] == "2"

    script = tmp_path / "helpers.jsh"
    script.write_text("int loadedHelper(int x) { return x + 100; }\n")
    ok(kc, f"%load {script}")
    assert value(kc, "loadedHelper(1)") == "101"

    assert value(kc, "%device") == "device: auto"
    assert value(kc, "%device cpu") == "device: cpu"
    assert value(kc, 'System.getProperty("ctlab.device")') == "cpu"
    reply, _ = execute(kc, "%device tpu")
    assert reply["status"] == "error" and "tpu" in reply["evalue"]
    reply, _ = execute(kc, "%nosuchmagic")
    assert reply["status"] == "error" and reply["ename"] == "UnknownMagic"


def test_classpath_magic_adds_a_jar_once(kernel, tmp_path):
    _, kc = kernel
    src = tmp_path / "src" / "extra" / "Greeter.java"
    src.parent.mkdir(parents=True)
    src.write_text("package extra; public class Greeter { public static String hi() { return \"hi from jar\"; } }\n")
    classes = tmp_path / "classes"
    subprocess.run(["javac", "-d", str(classes), str(src)], check=True)
    jar = tmp_path / "extra.jar"
    subprocess.run(["jar", "cf", str(jar), "-C", str(classes), "."], check=True)
    msgs = ok(kc, f"%classpath {jar}")
    assert "added to classpath" in stream(msgs, "stdout")
    assert value(kc, "extra.Greeter.hi()") == "hi from jar"
    msgs = ok(kc, f"%classpath {tmp_path}/*.jar")
    assert "unchanged" in stream(msgs, "stdout"), "re-running %classpath must not grow the classpath"


def maven_artifact(repo, tmp_path, name, java, deps=()):
    """Compiles `java` (class demo.<Name>) into repo/demo/<name>/1.0/<name>-1.0.jar with a pom listing deps."""
    src = tmp_path / "src" / name / "demo" / (name.capitalize() + ".java")
    src.parent.mkdir(parents=True)
    src.write_text(java)
    classes = tmp_path / "classes" / name
    cp = [str(tmp_path / "classes" / d) for d in deps]
    subprocess.run(["javac", "-d", str(classes)] + (["-cp", ":".join(cp)] if cp else []) + [str(src)], check=True)
    folder = repo / "demo" / name / "1.0"
    folder.mkdir(parents=True)
    subprocess.run(["jar", "cf", str(folder / f"{name}-1.0.jar"), "-C", str(classes), "."], check=True)
    dep_xml = "".join(f"<dependency><groupId>demo</groupId><artifactId>{d}</artifactId><version>1.0</version></dependency>"
                      for d in deps)
    (folder / f"{name}-1.0.pom").write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>demo</groupId><artifactId>{name}</artifactId><version>1.0</version>"
        f"<dependencies>{dep_xml}</dependencies></project>")


def test_maven_magic_resolves_from_a_repository_into_a_local_cache(tmp_path):
    # A Maven repository laid out on disk stands in for Maven Central (CI needs no network).
    repo, cache = tmp_path / "repo", tmp_path / "cache"
    maven_artifact(repo, tmp_path, "dep", "package demo; public class Dep { public static int answer() { return 42; } }")
    maven_artifact(repo, tmp_path, "hello", "package demo; public class Hello {"
                   " public static String hi() { return \"hi \" + Dep.answer(); } }", deps=["dep"])
    env = dict(os.environ, CTLAB_MAVEN_REPOS=repo.as_uri(), CTLAB_MAVEN_LOCAL=str(cache))
    km, kc = start_new_kernel(kernel_name="ctlab", startup_timeout=60, env=env)
    try:
        msgs = ok(kc, "%maven demo:hello:1.0")
        out = stream(msgs, "stdout")
        assert "hello-1.0.jar" in out and "dep-1.0.jar" in out, out
        assert value(kc, "demo.Hello.hi()") == "hi 42", "the artifact and its dependency are on the classpath"
        assert (cache / "demo" / "hello" / "1.0" / "hello-1.0.jar").is_file(), "downloaded into the local cache"
        assert "unchanged" in stream(ok(kc, "%maven demo:hello:1.0"), "stdout")

        reply, _ = execute(kc, "%maven demo:missing:1.0")
        assert reply["status"] == "error" and reply["ename"] == "MavenError"
        print(reply["evalue"])
        assert "demo:missing:1.0" in reply["evalue"] and "\n" not in reply["evalue"], reply["evalue"]
        reply, _ = execute(kc, "%maven not-coordinates")
        assert reply["status"] == "error" and "group:artifact:version" in reply["evalue"]

        # Offline (the repository unreachable): a clear error, and what is cached still resolves.
        ok(kc, 'System.setProperty("ctlab.maven.repos", "http://127.0.0.1:9/maven2")')
        reply, _ = execute(kc, "%maven demo:other:1.0")
        assert reply["status"] == "error" and reply["ename"] == "MavenError"
        print(reply["evalue"])
        assert "127.0.0.1:9" in reply["evalue"] and "demo:other:1.0" in reply["evalue"], reply["evalue"]
        assert "unchanged" in stream(ok(kc, "%maven demo:hello:1.0"), "stdout")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


# ---- stability ----------------------------------------------------------------------------------------

def used_heap_mb(kc):
    return int(value(kc, "System.gc(); Thread.sleep(100); System.gc();\n"
                         "(Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()) / (1024 * 1024)"))


def test_300_cells_with_stable_memory(kernel):
    _, kc = kernel
    # Each cell re-declares a 1.6 MB array and leaves a result: without freeing overwritten variables and old
    # results, 300 cells would keep ~480 MB alive.
    for i in range(50):
        ok(kc, f"var big = new double[200_000]; big[0] = {i}; big.length")
    before = used_heap_mb(kc)
    for i in range(250):
        ok(kc, f"var big = new double[200_000]; big[0] = {i}; big.length")
    after = used_heap_mb(kc)
    print(f"used heap after 50 cells: {before} MB, after 300: {after} MB")
    assert after - before < 64, f"kernel memory grew from {before} MB to {after} MB over 250 cells"
    assert value(kc, "big[0]") == "249.0"


# ---- a notebook end to end ----------------------------------------------------------------------------

def test_smoke_notebook_executes_with_nbconvert(tmp_path):
    out = tmp_path / "smoke-out.ipynb"
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
           "--ExecutePreprocessor.kernel_name=ctlab", "--ExecutePreprocessor.timeout=120",
           "--output", str(out), str(HERE / "smoke.ipynb")]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    mimes = {k for o in outputs if "data" in o for k in o.data}
    assert {"text/html", "image/png", "text/plain"} <= mimes
    assert any("Wall time" in o.get("text", "") for o in outputs)
