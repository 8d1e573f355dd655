// SPDX-License-Identifier: AGPL-3.0-or-later

/// A node of a YAML document as ``YAMLReader`` reads it, aliases already replaced by the node they name.
/// Scalars keep their text, tag and whether they were plain: whether `true` or `~` means a boolean or a
/// null, or just those letters, depends on both.
indirect enum YAMLNode: Equatable {
    case scalar(YAMLScalar)
    case sequence([YAMLNode])
    /// Entries in the document's order; keys are scalars, unique.
    case mapping([YAMLMappingEntry])

    /// Whether the node is YAML's null: `~`, `null` or nothing, unquoted, or tagged `!!null`.
    var isNull: Bool {
        guard case .scalar(let scalar) = self else { return false }
        return scalar.isNull
    }
}

/// A scalar's text and what decides its type.
struct YAMLScalar: Equatable {
    var text: String
    /// The tag in full (`tag:yaml.org,2002:str` for `!!str`), or `nil` when none was written.
    var tag: String? = nil
    /// Written without quotes and not as a block scalar: only then do `true`, `~` or `null` mean more than
    /// their letters.
    var isPlain = true

    static let stringTag = "tag:yaml.org,2002:str"
    static let nullTag = "tag:yaml.org,2002:null"
    static let boolTag = "tag:yaml.org,2002:bool"
    static let intTag = "tag:yaml.org,2002:int"

    var isNull: Bool {
        if let tag { return tag == Self.nullTag }
        return isPlain && ["", "~", "null", "Null", "NULL"].contains(text)
    }
}

/// One `key: value` of a mapping, with the line its key is on (for errors).
struct YAMLMappingEntry: Equatable {
    var key: String
    var value: YAMLNode
    var line: Int
}
