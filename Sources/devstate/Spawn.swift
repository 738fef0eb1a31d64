// SPDX-License-Identifier: MIT
import DevstateBytes
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How a program that `spawnAndWait` ran ended.
struct ChildExit {
    /// It exited with status 0 (a wait status of 0: not killed by a signal, exit code 0).
    var succeeded: Bool
    /// Its standard error; nil when that was not UTF-8 (or over 64 MiB).
    var standardError: String?
}

/// Runs the program at `path` with `arguments` and waits for it: standard input and output are
/// ours, its standard error is read through a pipe. posix_spawn rather than Foundation's
/// `Process`, which is not in FoundationEssentials: full Foundation links ICU into the static
/// binary (60 MB stripped instead of 16).
func spawnAndWait(_ path: String, arguments: [String]) throws(SystemError) -> ChildExit {
    var ends: [Int32] = [-1, -1]
    _ = try systemCall("pipe") { pipe(&ends) }
    // Close-on-exec, so that no other program started meanwhile holds the write end open
    // (dup2 onto the child's descriptor 2 clears the flag there).
    for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var pid: pid_t = 0
    let started: Int32 = withSpawnActions(duplicating: ends[1], to: STDERR_FILENO) { actions in
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        return posix_spawn(&pid, path, actions, nil, argv, environ)
    }
    close(ends[1])  // the child's copy stays: the read below ends when the child is done
    guard started == 0 else {
        close(ends[0])
        throw SystemError(call: "posix_spawn", code: started)
    }
    // A read failure (or over 64 MiB) ends the reading. The read end is closed with the
    // statement, so the child cannot block on a full pipe while it is waited for.
    let bytes = (try? InputFile(owning: ends[0]).readAll()) ?? nil
    var status: Int32 = 0
    _ = try systemCall("waitpid") { waitpid(pid, &status, 0) }
    return ChildExit(succeeded: status == 0, standardError: bytes.flatMap { String(validating: $0, as: UTF8.self) })
}

/// `body` with file actions that make `fd` the child's `target`.
private func withSpawnActions(duplicating fd: Int32, to target: Int32,
                              _ body: (UnsafePointer<posix_spawn_file_actions_t>) -> Int32) -> Int32 {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    let added = posix_spawn_file_actions_adddup2(&actions, fd, target)
    return added != 0 ? added : body(&actions)
}
