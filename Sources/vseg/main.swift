#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import VSegCore

/// Prints `vseg: <message>` as one line on stderr and exits.
func exitWithError(_ message: String, code: Int32) -> Never {
    let oneLine = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: " ") }.joined(separator: " ")
    fputs("vseg: \(oneLine)\n", stderr)
    exit(code)
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}

setvbuf(stdout, nil, _IOLBF, 0)

/// Help/version requests and command-line mistakes, as ArgumentParser reports them.
func handleArgumentParserError(_ error: Error) -> Never {
    let code = VSegCommand.exitCode(for: error)
    if code == .success {
        print(VSegCommand.fullMessage(for: error))
        exit(0)
    }
    if code == .validationFailure {
        exitWithError(VSegCommand.message(for: error) + "; see 'vseg --help'", code: VSegCore.ExitCode.usage.rawValue)
    }
    exitWithError("internal error: \(error); please report this", code: VSegCore.ExitCode.internalError.rawValue)
}

var command: ParsableCommand
do {
    command = try VSegCommand.parseAsRoot()
} catch {
    handleArgumentParserError(error)
}

do {
    try command.run()
} catch let e as UserFacingError {
    exitWithError(e.description, code: e.exitCode.rawValue)
} catch let code as ArgumentParser.ExitCode {
    exit(code.rawValue)
} catch {
    handleArgumentParserError(error)
}
