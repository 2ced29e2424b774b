//===- CrashGuard.cpp - turn a tool's crash into an error and exit 1 ------===//
//
// A parent that forks, waits and reports: see CrashGuard.h.
//
//===----------------------------------------------------------------------===//

#include "attn/Support/CrashGuard.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

using namespace attn;

namespace {

volatile sig_atomic_t childPid = 0;
volatile sig_atomic_t forwardedSignal = 0;

/// Passes an interrupt on to the child; the parent then reports what the
/// child did with it.
void forwardSignal(int signal) {
  forwardedSignal = signal;
  if (childPid > 0)
    kill(childPid, signal);
}

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP};

/// Saves `input` as `<tmp>/<tool>-crash-XXXXXX.<suffix>`; returns its path,
/// or an empty string when it could not be written.
std::string saveReproducer(const CrashGuardInfo &info) {
  const char *tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/" +
                     info.toolName + "-crash-XXXXXX." + info.reproducerSuffix;
  int fd = mkstemps(path.data(), int(info.reproducerSuffix.size()) + 1);
  if (fd < 0)
    return "";
  const char *data = info.input.data();
  size_t left = info.input.size();
  while (left > 0) {
    ssize_t written = write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      close(fd);
      return "";
    }
    data += written;
    left -= size_t(written);
  }
  close(fd);
  return path;
}

} // namespace

std::optional<int> attn::runUnderCrashGuard(const CrashGuardInfo &info) {
  if (const char *off = std::getenv("ATTN_NO_CRASH_GUARD"); off && *off)
    return std::nullopt;
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return std::nullopt; // no guard rather than no tool
  if (pid == 0) {
#ifdef __linux__
    // Die with the parent (a timeout that kills it must not leave the
    // child running); it may already be gone by now.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1);
#endif
    return std::nullopt;
  }

  childPid = pid;
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = forwardSignal;
  sigemptyset(&action.sa_mask);
  for (int signal : kForwarded)
    sigaction(signal, &action, nullptr);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "%s: error: lost track of the compiler process: "
                           "%s\n",
                   info.toolName.c_str(), std::strerror(errno));
      return 1;
    }
  }
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (!WIFSIGNALED(status))
    return 1;

  int signal = WTERMSIG(status);
  if (forwardedSignal != 0 && signal == forwardedSignal) {
    // Interrupted, not crashed: end the way an unguarded tool would.
    std::signal(signal, SIG_DFL);
    raise(signal);
    return 128 + signal;
  }
  const char *name = strsignal(signal);
  std::string reproducer = saveReproducer(info);
  std::fprintf(stderr,
               "%s: error: internal compiler error: %s died of signal %d "
               "(%s)%s\n",
               info.toolName.c_str(), info.toolName.c_str(), signal,
               name ? name : "unknown",
               signal == SIGKILL ? "; out of memory?" : "");
  if (!reproducer.empty())
    std::fprintf(stderr, "%s: note: its input is saved as %s\n",
                 info.toolName.c_str(), reproducer.c_str());
  else
    std::fprintf(stderr, "%s: note: could not save its input\n",
                 info.toolName.c_str());
  std::fprintf(stderr,
               "%s: note: the command was: %s\n"
               "%s: note: please report this with the input and the command "
               "(ATTN_NO_CRASH_GUARD=1 runs it without this guard)\n",
               info.toolName.c_str(), info.commandLine.c_str(),
               info.toolName.c_str());
  return 1;
}
