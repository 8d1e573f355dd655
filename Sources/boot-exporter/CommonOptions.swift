// SPDX-License-Identifier: AGPL-3.0-or-later

public import ArgumentParser
public import BootFSM
public import Logging

/// `--log.level` and `--log.format`, shared by every subcommand.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case logfmt, json
    }

    @Option(name: .customLong("log.level"), help: "Only log messages of this level or higher: trace, debug, info, notice, warning, error, critical.")
    var level: Logger.Level = .info

    @Option(name: .customLong("log.format"), help: "Log line format: logfmt or json.")
    var format: Format = .logfmt

    /// Sets up swift-log; the executable is the only place that does.
    func bootstrap() -> Logger {
        let level = self.level
        switch format {
        case .logfmt: LoggingSystem.bootstrap { LineLogHandler(format: .logfmt, logLevel: level, label: $0) }
        case .json: LoggingSystem.bootstrap { LineLogHandler(format: .json, logLevel: level, label: $0) }
        }
        return Logger(label: "boot-exporter")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

extension RecoveryMode: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.name) }
    public var defaultValueDescription: String { name }
}

extension BudgetPolicy: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.name) }
    public var defaultValueDescription: String { name }
}

/// A duration flag: `30s`, `5m`, `1h30m`.
struct DurationArgument: ExpressibleByArgument {
    let duration: Duration

    init?(argument: String) {
        guard let duration = try? DurationParser.parse(argument) else { return nil }
        self.duration = duration
    }

    var defaultValueDescription: String { DurationParser.format(duration) }

    private init(duration: Duration) { self.duration = duration }

    /// The option's transform: unlike `init?(argument:)`, it keeps the parser's message (the units
    /// it accepts) for the usage error.
    static func parse(_ text: String) throws -> DurationArgument {
        do {
            return DurationArgument(duration: try DurationParser.parse(text))
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// `--data-dir`.
struct DataDirectoryOption: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The data directory of the store.")
    var path = "./boot-data"
}
