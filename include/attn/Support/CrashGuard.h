//===- CrashGuard.h - turn a tool's crash into an error and exit 1 --*- C++ -*-===//
//
// The tools do their work in a child process and the parent watches it: if
// the child dies of a signal (a bug of ours or of upstream MLIR/LLVM, a
// stack overflow, an abort from an LLVM fatal error, the out-of-memory
// killer), the parent saves the input as a reproducer, prints
// `error: internal compiler error` naming it and exits 1. Plain POSIX, no
// LLVM or MLIR types.
//
// Why a process and not llvm::CrashRecoveryContext: recovery in-process only
// catches crashes on the thread that set it up (MLIR runs passes, and the
// verifier, on a thread pool), cannot return from a stack overflow reliably,
// and leaves the crashed code's locks and heap as they were. The clang driver
// runs its compiler the same way for the same reasons.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SUPPORT_CRASHGUARD_H
#define ATTN_SUPPORT_CRASHGUARD_H

#include <optional>
#include <string>
#include <string_view>

namespace attn {

/// What the supervising parent needs to describe a crash.
struct CrashGuardInfo {
  /// The tool's name, as diagnostics start (`attn-opt`).
  std::string toolName;
  /// The command line, for the reproduce hint.
  std::string commandLine;
  /// The input text, saved as the reproducer when the child crashes.
  std::string_view input;
  /// The suffix of the reproducer file (`mlir`).
  std::string reproducerSuffix = "mlir";
};

/// Forks. In the child, returns std::nullopt: the caller goes on with its
/// work and exits normally. In the parent, waits for the child and returns
/// the exit code the tool should exit with: the child's own, or 1 after
/// printing `<tool>: error: internal compiler error: ...` when it died of a
/// signal. SIGINT, SIGTERM and SIGHUP sent to the parent are passed on to
/// the child, and a child killed by one of those makes the parent die of the
/// same signal (an interrupted run is not a crash). With the environment
/// variable ATTN_NO_CRASH_GUARD set, or when fork fails, returns
/// std::nullopt without forking (debuggers want the crash in-process).
///
/// Call it before any thread is started: only the forking thread exists in
/// the child.
std::optional<int> runUnderCrashGuard(const CrashGuardInfo &info);

} // namespace attn

#endif // ATTN_SUPPORT_CRASHGUARD_H
