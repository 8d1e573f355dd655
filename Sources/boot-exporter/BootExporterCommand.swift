// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import BootExporter
import Glibc

/// `boot-exporter`: boots a write-ahead-log store and serves its boot to Prometheus and Kubernetes.
@main
struct BootExporterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot-exporter",
        abstract: "Boots a write-ahead-log store through init, migrate, recover and warmup, serving /metrics, /health and Kubernetes probes all along.",
        version: BootExporterVersion.current,
        subcommands: [RunCommand.self, FollowCommand.self, GenerateCommand.self, WriteCommand.self, HistoryCommand.self, ProbesCommand.self],
        defaultSubcommand: RunCommand.self
    )

    /// Runs the command line. Usage errors exit with 2, runtime errors with 1, each with one line
    /// on standard error.
    static func main() async {
        // A file size limit (a full disk's cousin) must fail a write with EFBIG, reported and
        // survived, not kill the process mid-record.
        signal(SIGXFSZ, SIG_IGN)
        // A closed pipe (a log reader gone, a follow client that hung up) must fail that write with
        // EPIPE, not kill the exporter.
        signal(SIGPIPE, SIG_IGN)
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            usageError(message(for: error))
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch let failure as RuntimeFailure {
            runtimeError("\(failure)")
        } catch {
            // Help, version and usage errors can also surface here (from a default subcommand).
            switch exitCode(for: error) {
            case .success:
                print(fullMessage(for: error))
                Glibc.exit(0)
            case .validationFailure:
                usageError(message(for: error))
            default:
                runtimeError("\(error)")
            }
        }
    }

    /// One line saying what failed, then exit status 1. Control characters in it (a path with a
    /// newline in its name) are escaped as Swift writes them, so the message stays one line.
    static func runtimeError(_ message: String) -> Never {
        StandardStream.error.write("boot-exporter: error: \(oneLine(message))\n")
        Glibc.exit(1)
    }

    /// `text` with its control characters escaped: `\n`, `\r`, `\t`, else `\u{…}`.
    static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// One line naming what is wrong with the command line, then exit status 2. A message over
    /// several lines (a list of the accepted values) is joined into that line.
    static func usageError(_ message: String) -> Never {
        let lines = message.split(separator: "\n").map(\.trimmed).filter { !$0.isEmpty }
        var line = lines.first.map(String.init) ?? message
        let items = lines.dropFirst().map { $0.hasPrefix("- ") ? String($0.dropFirst(2)) : String($0) }
        if !items.isEmpty { line += " " + items.joined(separator: ", ") }
        StandardStream.error.write("boot-exporter: error: \(line)\nRun 'boot-exporter --help' for usage.\n")
        Glibc.exit(2)
    }
}

/// An error at run time (as opposed to a usage error): exit status 1.
struct RuntimeFailure: Error, CustomStringConvertible {
    let description: String

    init(_ message: String) { description = message }
}
