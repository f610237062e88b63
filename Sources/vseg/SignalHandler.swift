#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import VSegCore

/// SIGINT/SIGTERM during a run: the first one asks the pipeline to stop
/// cleanly (source stops, queues drain, outputs are finalized); a second one
/// exits at once with 130.
final class SignalHandler {
    private let onStop: () -> Void
    private var sources: [DispatchSourceSignal] = []
    private let lock = Lock()
    private var count = 0

    init(onStop: @escaping () -> Void) { self.onStop = onStop }

    func install() {
        for sig in [SIGINT, SIGTERM] {
            // Ignore the default action so the dispatch source sees the signal instead of the process dying.
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [weak self] in self?.received(sig) }
            s.resume()
            sources.append(s)
        }
    }

    func uninstall() {
        for s in sources { s.cancel() }
        sources = []
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    private func received(_ sig: Int32) {
        let n: Int = lock.withLock { count += 1; return count }
        if n == 1 {
            fputs("\ninfo: \(sig == SIGINT ? "SIGINT" : "SIGTERM") received, finishing outputs (again to force quit)\n", stderr)
            onStop()
        } else {
            fputs("vseg: forced exit; outputs may be incomplete\n", stderr)
            _exit(ExitCode.interrupted.rawValue)
        }
    }
}
