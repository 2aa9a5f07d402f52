import DynamoModel
import Testing

@Suite("Item size and capacity units")
struct ItemSizeTests {
    @Test(
        "a value's size by type",
        arguments: [
            (#"{"S":"hello"}"#, 5), (#"{"S":"é"}"#, 2), (#"{"S":""}"#, 0),
            (#"{"N":"27"}"#, 2), (#"{"N":"123"}"#, 3), (#"{"N":"-5"}"#, 3), (#"{"N":"1.50"}"#, 2), (#"{"N":"0"}"#, 1),
            (#"{"B":"aGVsbG8="}"#, 5), (#"{"BOOL":true}"#, 1), (#"{"NULL":true}"#, 1),
            (#"{"SS":["ab","c"]}"#, 3), (#"{"NS":["1","22"]}"#, 4), (#"{"BS":["AAE=","AQ=="]}"#, 3),
            (#"{"L":[]}"#, 3), (#"{"M":{}}"#, 3),
            (#"{"L":[{"S":"ab"},{"N":"1"}]}"#, 3 + (1 + 2) + (1 + 2)),
            (#"{"M":{"k":{"S":"v"}}}"#, 3 + 1 + 1 + 1),
        ]
    )
    func valueSize(_ json: String, _ bytes: Int) throws {
        #expect(ItemSize.bytes(of: try DynamoJSONParser.value(from: json)) == bytes)
    }

    // Worked examples published with two item-size calculators, both consistent with the AWS rules:
    // ddbitemsizer's README (141 bytes) and dyno-item-size's README (32 bytes).
    @Test("published item-size examples")
    func publishedExamples() throws {
        let slot = try DynamoJSONParser.item(
            from: """
                {"itemType":{"S":"SLOT"},"id":{"S":"abc1231"},"hostName":{"S":"Harry Mason"},"timeSlot":{"S":"February 23, 1999"},\
                "slotStatus":{"S":"OPEN"},"createdAt":{"S":"February 1, 1999"},"updatedAt":{"S":"February 1, 1999"},"expiresAt":{"N":"2099"}}
                """
        )
        #expect(ItemSize.bytes(of: slot) == 141)
        let small = try DynamoJSONParser.item(
            from: #"{"string":{"S":"string"},"number":{"N":"27"},"buffer":{"B":"YnVmZmVy"}}"#
        )
        #expect(ItemSize.bytes(of: small) == 32)
    }

    // AWS ProvisionedThroughput docs: BatchWriteItem of a 500-byte and a 3.5 KB item is 1 KB + 4 KB = 5 WCU;
    // BatchGetItem of 1.5 KB and 6.5 KB items is 4 KB + 8 KB = 3 RCU.
    @Test("capacity units round each item up")
    func capacityUnits() {
        #expect(CapacityUnits.write(bytes: 500) + CapacityUnits.write(bytes: 3584) == 5)
        #expect(CapacityUnits.read(bytes: 1536) + CapacityUnits.read(bytes: 6656) == 3)
        #expect(CapacityUnits.write(bytes: 0) == 1)
        #expect(CapacityUnits.write(bytes: 1024) == 1)
        #expect(CapacityUnits.write(bytes: 1025) == 2)
        #expect(CapacityUnits.read(bytes: 4096) == 1)
        #expect(CapacityUnits.read(bytes: 4097) == 2)
        #expect(CapacityUnits.write(bytes: ItemSize.maxItemBytes) == 400)
    }

    @Test("names count at every level")
    func namesCount() throws {
        let item = try DynamoJSONParser.item(from: #"{"ключ":{"M":{"ü":{"BOOL":false}}}}"#)
        // "ключ" is 8 UTF-8 bytes; map: 3 + (1 + "ü" 2 bytes + BOOL 1).
        #expect(ItemSize.bytes(of: item) == 8 + 3 + 1 + 2 + 1)
    }
}
