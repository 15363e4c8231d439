// herd: the command-line entry point (run, node, ctl, validate, experiment).
#include <cctype>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "apps/commands.hpp"
#include "apps/experiment_command.hpp"

namespace {

// The first word on the command line that looks like an option and is not one of herd's or of
// the chosen command's (CLI11 would report a missing argument first: "job is required"). ctl's
// words after its first positional are its command's (add-worker --node b), not checked.
std::string unknown_option(CLI::App& app, int argc, char** argv) {
  CLI::App* in = &app;
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--")
      break;
    if (word.size() < 2 || word[0] != '-') {
      if (in != &app) {
        if (in->get_name() == "ctl")
          break;
        continue; // a positional or an option's value
      }
      CLI::App* sub = nullptr;
      for (auto* s : app.get_subcommands([](CLI::App*) { return true; }))
        if (s->get_name() == word)
          sub = s;
      if (sub == nullptr)
        return {};
      in = sub;
      continue;
    }
    auto name = word.substr(0, word.find('='));
    if (in->get_option_no_throw(name) == nullptr && app.get_option_no_throw(name) == nullptr)
      return name + (in != &app ? "' for 'herd " + in->get_name() : std::string{});
  }
  return {};
}

// CLI11's messages start with a capital ("A subcommand is required"); herd's lines do not.
std::string lower_first(std::string s) {
  if (s.size() > 1 && std::isupper(static_cast<unsigned char>(s[0]))
      && !std::isupper(static_cast<unsigned char>(s[1])))
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App app{"herd: an actor-model parameter server for distributed training"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "herd " HERD_VERSION);

  herd::apps::run_options run_opts;
  auto* run = app.add_subcommand("run", "train a job in this process");
  run->add_option("job", run_opts.job_file, "job JSON file")->required();
  run->add_option("--output", run_opts.output_dir, "output directory (overrides output.dir)");
  run->add_flag("--quiet", run_opts.quiet, "print only the summary");
  run->add_option("--resume", run_opts.resume,
                  "checkpoint directory: continue from its newest whole checkpoint");
  run->add_option("--cluster", run_opts.cluster,
                  "topology file: run on its node daemons (see docs/operations.md)");

  herd::apps::node_options node_opts;
  auto* node = app.add_subcommand("node", "run a node daemon of a cluster until SIGINT/SIGTERM");
  node->add_option("--topology", node_opts.topology, "cluster topology JSON file")->required();
  node->add_option("--name", node_opts.name, "this node's name in the topology")->required();
  node->add_flag("--insecure", node_opts.insecure,
                 "allow a non-loopback address without TLS (warned about)");

  herd::apps::ctl_options ctl_opts;
  auto* ctl = app.add_subcommand(
    "ctl", "steer a running job: status, add-worker, remove-worker, set-consistency, "
           "checkpoint, stop; no command opens a prompt");
  ctl->add_option("--connect", ctl_opts.connect, "HOST:PORT of any node daemon");
  ctl->add_option("--topology", ctl_opts.topology,
                  "cluster topology (TLS files and connect_timeout_s; its first node when "
                  "--connect is absent)");
  ctl->add_flag("--json", ctl_opts.json, "print status as JSON");
  ctl->footer("`herd ctl help` (or COMMAND --help) lists the commands' arguments, no node "
              "needed");
  ctl->prefix_command(); // the command's own words (add-worker --node b) are not ours

  herd::apps::validate_options validate_opts;
  auto* validate = app.add_subcommand(
    "validate", "check a job file as run does before loading data; print ok or the errors");
  validate->add_option("job", validate_opts.job_file, "job JSON file")->required();
  validate->add_option("--cluster", validate_opts.cluster,
                       "topology file: check the job as run --cluster would");

  herd::apps::experiment_options exp_opts;
  auto* experiment = app.add_subcommand(
    "experiment",
    "run a matrix of jobs (consistency x compression x stragglers x seeds) and compare them");
  experiment->add_option("file", exp_opts.file, "experiment JSON file")->required();
  experiment->add_option("--output", exp_opts.output_dir,
                         "output directory (overrides the experiment's output)");
  experiment->add_flag("--quiet", exp_opts.quiet, "print only where the results are");
  experiment->add_flag("--dry-run", exp_opts.dry_run,
                       "check the experiment and list its runs without running them");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line naming the problem; an unknown first word is named as a command.
    std::string first = argc > 1 ? argv[1] : "";
    if (!first.empty() && first[0] != '-' && first != "run" && first != "validate"
        && first != "experiment" && first != "node" && first != "ctl")
      std::fprintf(stderr,
                   "herd: unknown command '%s' (expected run, node, ctl, validate or "
                   "experiment; see --help)\n",
                   first.c_str());
    else if (auto opt = unknown_option(app, argc, argv); !opt.empty())
      std::fprintf(stderr, "herd: unknown option '%s' (see --help)\n", opt.c_str());
    else
      std::fprintf(stderr, "herd: %s (see --help)\n", lower_first(e.what()).c_str());
    return herd::apps::exit_bad_input;
  }
  // An empty path or address is never meant: `--resume ""` would start afresh without a word.
  for (auto* sub : app.get_subcommands())
    for (const auto* opt : sub->get_options())
      if (opt->get_type_size() > 0 && opt->count() > 0)
        for (const auto& value : opt->results())
          if (value.empty()) {
            std::fprintf(stderr, "herd: %s: expected a non-empty value, got \"\" (see --help)\n",
                         opt->get_name().c_str());
            return herd::apps::exit_bad_input;
          }
  // The codec registry is assembled here, once, and passed down (no static registration).
  auto codecs = std::make_shared<const herd::kernels::compress::codec_registry>(
    herd::kernels::compress::default_codecs());
  run_opts.codecs = codecs;
  exp_opts.codecs = codecs;
  node_opts.codecs = codecs;
  validate_opts.codecs = codecs;
  if (*node)
    return herd::apps::node_command(node_opts);
  if (*ctl) {
    ctl_opts.words = ctl->remaining();
    return herd::apps::ctl_command(ctl_opts);
  }
  if (*run)
    return herd::apps::run_command(run_opts);
  if (*experiment)
    return herd::apps::experiment_command(exp_opts);
  return herd::apps::validate_command(validate_opts);
}
