// The program frame: atomic files, JSON lines, run folders, progress bars and the command line.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/files.hpp"
#include "experiments/support/cli.hpp"
#include "experiments/support/files.hpp"
#include "experiments/support/progress.hpp"

namespace fs = std::filesystem;
namespace sp = vk::support;
using nlohmann::json;

namespace {

using vk::test::contains;
using vk::test::io_error_of;
using vk::test::read_text;
using vk::test::TempDir;

// Redirects a standard stream into a string for the lifetime of the object.
struct Capture {
  std::ostream& stream;
  std::ostringstream text;
  std::streambuf* old;
  explicit Capture(std::ostream& s) : stream(s), old(s.rdbuf(text.rdbuf())) {}
  ~Capture() { stream.rdbuf(old); }
};

}  // namespace

TEST_CASE("atomic writes replace content and leave no temporary file") {
  TempDir tmp;
  const fs::path f = tmp.path / "summary.json";
  sp::write_text_atomic(f, "first");
  CHECK(read_text(f) == "first");
  sp::write_json_atomic(f, json{{"elbo", -98.5}, {"layers", {784, 400}}});
  const std::string text = read_text(f);
  CHECK(json::parse(text) == json{{"elbo", -98.5}, {"layers", {784, 400}}});
  CHECK(contains(text, "\n  \"elbo\": -98.5"));
  CHECK(text.back() == '\n');
  CHECK(tmp.names() == std::set<std::string>{"summary.json"});

  std::string e = io_error_of([&] { sp::write_text_atomic(tmp.path / "missing" / "a.txt", "x"); });
  CHECK(contains(e, (tmp.path / "missing" / "a.txt").string()));
  CHECK(tmp.names() == std::set<std::string>{"summary.json"});
}

TEST_CASE("JsonLines appends one parseable line per record") {
  TempDir tmp;
  const fs::path f = tmp.path / "log.jsonl";
  {
    sp::JsonLines log(f, true);
    log.append({{"epoch", 1}, {"loss", 1.5}});
    log.append({{"epoch", 2}, {"note", "two\nlines"}});
    CHECK(read_text(f).size() > 0);  // flushed before the log is closed
  }
  sp::JsonLines(f, false).append({{"epoch", 3}});
  std::ifstream in(f);
  std::vector<json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  REQUIRE(lines.size() == 3);
  CHECK(lines[1]["note"] == "two\nlines");
  CHECK(lines[2]["epoch"] == 3);

  sp::JsonLines(f, true).append({{"epoch", 1}});
  CHECK(read_text(f) == "{\"epoch\":1}\n");
  CHECK(contains(io_error_of([&] { sp::JsonLines(tmp.path / "no" / "l.jsonl", true); }), "l.jsonl"));
}

TEST_CASE("ensure_run_dir creates folders and rejects files") {
  TempDir tmp;
  sp::ensure_run_dir(tmp.path / "runs" / "a");
  CHECK(fs::is_directory(tmp.path / "runs" / "a"));
  sp::ensure_run_dir(tmp.path / "runs" / "a");  // existing folder is fine
  sp::write_text_atomic(tmp.path / "file", "x");
  CHECK(contains(io_error_of([&] { sp::ensure_run_dir(tmp.path / "file"); }), "not a folder"));
  CHECK(contains(io_error_of([&] { sp::ensure_run_dir(tmp.path / "file" / "sub"); }), "file"));
}

TEST_CASE("progress formatting") {
  CHECK(sp::format_duration(0) == "0:00");
  CHECK(sp::format_duration(5.4) == "0:05");
  CHECK(sp::format_duration(59.6) == "1:00");
  CHECK(sp::format_duration(754) == "12:34");
  CHECK(sp::format_duration(3723) == "1:02:03");
  CHECK(sp::format_duration(-1) == "--:--");
  CHECK(sp::format_duration(NAN) == "--:--");
  CHECK(sp::format_duration(INFINITY) == "--:--");

  CHECK(sp::format_rate(31234, "img") == "31.2k img/s");
  CHECK(sp::format_rate(950, "img") == "950 img/s");
  CHECK(sp::format_rate(3.5, "it") == "3.50 it/s");
  CHECK(sp::format_rate(999.7, "img") == "1.00k img/s");
  CHECK(sp::format_rate(1.2e6, "img") == "1.20M img/s");
  CHECK(sp::format_rate(NAN, "img") == "- img/s");

  // 26880 of 60000 at 31.2k img/s: 33120 left, about 1.06 s.
  CHECK(sp::format_progress("epoch 3/20", 26880, 60000, "img", 26880 / 31200.0, "loss 251.3") ==
        "epoch 3/20 [########..........] 44% 26880/60000 img  31.2k img/s  ETA 0:01  loss 251.3");
  CHECK(sp::format_progress("eval", 0, 10, "batch", 0, "") ==
        "eval [..................] 0% 0/10 batch  - batch/s  ETA --:--");
  CHECK(sp::format_progress("e", 10, 10, "img", 125, "done", true, 4) ==
        "e [####] 100% 10/10 img  0.08 img/s  time 2:05  done");
  // A resumed epoch: 30000 of the 36000 done before this process; 6000 in 0.5 s is 12k img/s, and
  // the 24000 left take 2 s.
  CHECK(sp::format_progress("epoch 2/5", 36000, 60000, "img", 0.5, "", false, 18, 30000) ==
        "epoch 2/5 [##########........] 60% 36000/60000 img  12.0k img/s  ETA 0:02");
}

TEST_CASE("Progress prints plain lines every 10% when not on a terminal") {
  std::ostringstream out;
  {
    sp::Progress p("epoch 1/1", 1000, "img", out, false);
    for (std::size_t i = 0; i <= 1000; ++i) p.update(i, "loss 1.0");
    p.finish("loss 0.9");
  }
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  REQUIRE(lines.size() == 11);
  CHECK(contains(lines[0], "10% 100/1000 img"));
  CHECK(contains(lines[9], "100% 1000/1000 img"));
  CHECK(contains(lines[10], "time "));
  CHECK(contains(lines[10], "loss 0.9"));
  CHECK_FALSE(contains(out.str(), "\r"));
}

TEST_CASE("Progress redraws in place on a terminal") {
  std::ostringstream out;
  {
    sp::Progress p("epoch", 100, "img", out, true);
    for (std::size_t i = 1; i <= 100; ++i) p.update(i);  // well within 0.1 s: drawn once
    CHECK(out.str().rfind('\r') == 0);
    CHECK_FALSE(contains(out.str(), "\n"));
    p.finish("ok");
  }
  CHECK(out.str().back() == '\n');
  std::string redraw = "\r";  // appended, not "\r" + s: g++ 12 warns falsely (-Wrestrict) on that
  redraw += sp::format_progress("epoch", 100, 100, "img", 0, "", true).substr(0, 30);
  CHECK(contains(out.str(), redraw));
  std::ostringstream unfinished;
  { sp::Progress("x", 5, "img", unfinished, true).update(1); }
  CHECK(unfinished.str().back() == '\n');  // the destructor ends the open line
}

TEST_CASE("run_main turns failures into one line and an exit code") {
  {
    Capture err(std::cerr);
    CHECK(sp::run_main("prog", [] { throw std::runtime_error("bad\nthing"); }) == 1);
    CHECK(err.text.str() == "prog: bad thing\n");
  }
  CHECK(sp::run_main("prog", [] { return 3; }) == 3);
  CHECK(sp::run_main("prog", [] {}) == 0);

  auto run = [](std::vector<std::string> args, int& seen) {
    sp::Command cmd("prog", "test program", "Example: prog --n 3");
    int n = 7;
    double rate = 0.5;
    std::string out;
    cmd.option("--n", n, "a number").option("--rate", rate, "a rate").range(0, 1);
    cmd.option("--out", out, "a folder").required();
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return sp::run_main(cmd, int(argv.size()), argv.data(), [&] { seen = n; });
  };
  int seen = -1;
  CHECK(run({"prog", "--n", "3", "--out", "o"}, seen) == 0);
  CHECK(seen == 3);
  for (std::vector<std::string> bad : {std::vector<std::string>{"prog", "--n", "x", "--out", "o"},
                                       {"prog", "--n", "3"},
                                       {"prog", "--out", "o", "--rate", "2"},
                                       {"prog", "--out", "o", "--bogus"}}) {
    CAPTURE(bad.back());
    Capture err(std::cerr);
    seen = -1;
    CHECK(run(bad, seen) != 0);
    CHECK(seen == -1);
    const std::string text = err.text.str();
    CHECK(text.rfind("prog: ", 0) == 0);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);  // one line
  }
  {
    Capture out(std::cout);
    CHECK(run({"prog", "--help"}, seen) == 0);
    CHECK(seen == -1);
    CHECK(contains(out.text.str(), "Example: prog --n 3"));
    CHECK(contains(out.text.str(), "=7"));  // defaults are shown
  }
}
