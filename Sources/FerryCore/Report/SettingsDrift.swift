import AWSClient
import DynamoModel

/// The settings of a table a restore or migration can silently lose, as `ferry report --compare-settings` reads
/// them (`DescribeTable`, `DescribeTimeToLive`, `DescribeContinuousBackups`, `ListTagsOfResource`). Each setting is
/// text, so a comparison is by bytes and a report shows both sides as they are; a setting that could not be read
/// says why (`unknown: …`) instead of failing the report.
public struct TableSettings: Sendable, Hashable, Codable {
    public var table: String
    /// Setting name → value, e.g. `key schema` → `pk (S, HASH), sk (N, RANGE)`.
    public var values: [String: String]

    public init(table: String, values: [String: String]) {
        self.table = table
        self.values = values
    }

    /// The settings from a table's description and the other reads (nil: that read failed, with its error).
    public init(
        _ description: TableDescription,
        timeToLive: Result<(status: String, attribute: String?), any Error>,
        pointInTimeRecovery: Result<PointInTimeRecovery, any Error>,
        tags: Result<[(key: String, value: String)], any Error>
    ) {
        var values: [String: String] = [:]
        let types = Dictionary(
            (description.AttributeDefinitions ?? []).map { ($0.AttributeName, $0.AttributeType) },
            uniquingKeysWith: { a, _ in a }
        )
        func keys(_ schema: [TableDescription.KeySchemaElement]?) -> String {
            (schema ?? []).sorted { $0.KeyType == "HASH" && $1.KeyType != "HASH" }
                .map { "\($0.AttributeName) (\(types[$0.AttributeName] ?? "?"), \($0.KeyType))" }
                .joined(separator: ", ")
        }
        func projection(_ projection: TableDescription.Projection?) -> String {
            guard let projection else { return "?" }
            let extra = (projection.NonKeyAttributes ?? []).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            return (projection.ProjectionType ?? "?")
                + (extra.isEmpty ? "" : " [" + extra.joined(separator: ", ") + "]")
        }
        func capacity(
            _ provisioned: TableDescription.ProvisionedThroughput?,
            _ onDemand: TableDescription.OnDemandThroughput?
        )
            -> String
        {
            if description.isOnDemand {
                let read = onDemand?.MaxReadRequestUnits.map(String.init) ?? "unlimited"
                let write = onDemand?.MaxWriteRequestUnits.map(String.init) ?? "unlimited"
                return "on-demand, max \(read) read / \(write) write request units"
            }
            return "\(provisioned?.ReadCapacityUnits ?? 0) RCU / \(provisioned?.WriteCapacityUnits ?? 0) WCU"
        }
        values["key schema"] = keys(description.KeySchema)
        values["billing mode"] = description.isOnDemand ? "PAY_PER_REQUEST" : "PROVISIONED"
        values["capacity"] = capacity(description.ProvisionedThroughput, description.OnDemandThroughput)
        values["table class"] = description.TableClassSummary?.TableClass ?? "STANDARD"
        for index in description.GlobalSecondaryIndexes ?? [] {
            values["GSI \(index.IndexName)"] =
                "\(keys(index.KeySchema)); \(projection(index.Projection)); "
                + capacity(index.ProvisionedThroughput, index.OnDemandThroughput)
        }
        for index in description.LocalSecondaryIndexes ?? [] {
            values["LSI \(index.IndexName)"] = "\(keys(index.KeySchema)); \(projection(index.Projection))"
        }
        let stream = description.StreamSpecification
        values["stream"] = stream?.StreamEnabled == true ? "on (\(stream?.StreamViewType ?? "?"))" : "off"
        values["deletion protection"] = description.DeletionProtectionEnabled == true ? "on" : "off"
        // Encryption: the type, not the key's ARN (another account's key is a different ARN by necessity).
        let sse = description.SSEDescription
        values["encryption"] = sse?.Status == "ENABLED" ? (sse?.SSEType ?? "KMS") : "AWS owned key (default)"
        switch timeToLive {
        case .success(let ttl):
            values["TTL"] = ttl.status == "ENABLED" ? "on (\(ttl.attribute ?? "?"))" : ttl.status.lowercased()
        case .failure(let error): values["TTL"] = "unknown: \(error)"
        }
        switch pointInTimeRecovery {
        case .success(let pitr):
            values["PITR"] =
                pitr.isEnabled ? "on (\(pitr.RecoveryPeriodInDays.map { "\($0) days" } ?? "35 days"))" : "off"
        case .failure(let error): values["PITR"] = "unknown: \(error)"
        }
        switch tags {
        case .success(let tags):
            values["tags"] =
                tags.isEmpty
                ? "none"
                : tags.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { "\($0.key)=\($0.value)" }
                    .joined(separator: ", ")
        case .failure(let error): values["tags"] = "unknown: \(error)"
        }
        self.init(table: description.TableArn ?? description.TableName, values: values)
    }
}

extension TableSettings {
    /// Reads a table's settings: `DescribeTable` must succeed; TTL, PITR and tags are read alongside and shown as
    /// unknown (with the error) when they cannot be.
    public static func read(_ dynamo: DynamoDBClient, table: String) async throws -> TableSettings {
        let description = try await dynamo.describeTable(table)
        let arn = description.TableArn ?? table
        async let ttl = attempt { try await dynamo.describeTimeToLive(table) }
        async let pitr = attempt { try await dynamo.describeContinuousBackups(table) }
        async let tags = attempt { try await dynamo.listTags(ofResource: arn) }
        return TableSettings(description, timeToLive: await ttl, pointInTimeRecovery: await pitr, tags: await tags)
    }

    static func attempt<T: Sendable>(_ body: () async throws -> T) async -> Result<T, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }
}

/// Where the target's settings differ from the source's: what a rehearsal must catch before a real recovery.
public struct SettingsDrift: Sendable, Hashable, Codable {
    public struct Difference: Sendable, Hashable, Codable {
        public var setting: String
        /// nil: the table has no such setting (an index only one side has).
        public var source: String?
        public var target: String?

        public init(setting: String, source: String?, target: String?) {
            self.setting = setting
            self.source = source
            self.target = target
        }
    }

    public var source: String
    public var target: String
    public var at: Int64
    /// Every setting compared, in order (so a report can show what matched too).
    public var compared: [String]
    public var differences: [Difference]
    /// Why the comparison could not be made (a table could not be described), when it could not.
    public var error: String?

    public init(
        source: String,
        target: String,
        at: Int64,
        compared: [String],
        differences: [Difference],
        error: String? = nil
    ) {
        self.source = source
        self.target = target
        self.at = at
        self.compared = compared
        self.differences = differences
        self.error = error
    }

    /// Compares by bytes, settings in a fixed order: the table's own first, then indexes by name.
    public static func compare(source: TableSettings, target: TableSettings, at: Int64) -> SettingsDrift {
        let order = [
            "key schema", "billing mode", "capacity", "table class", "stream", "TTL", "PITR",
            "deletion protection", "encryption", "tags",
        ]
        let names = Set(source.values.keys).union(target.values.keys)
        let rest = names.subtracting(order).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let compared = order.filter(names.contains) + rest
        let differences = compared.compactMap { name -> Difference? in
            let a = source.values[name]
            let b = target.values[name]
            if let a, let b, a.utf8.elementsEqual(b.utf8) { return nil }
            return Difference(setting: name, source: a, target: b)
        }
        return SettingsDrift(
            source: source.table,
            target: target.table,
            at: at,
            compared: compared,
            differences: differences,
            error: nil
        )
    }
}
