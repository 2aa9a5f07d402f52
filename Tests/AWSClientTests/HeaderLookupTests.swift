import Testing

@testable import AWSClient

@Suite("HTTPResponseData.header: field names compared as HTTP does")
struct HeaderLookupTests {
    static let response = HTTPResponseData(
        status: 200,
        headers: [
            ("X-Amz-Crc32", "1"), ("x-amzn-requestid", "2"), ("X-Amz-Crc32", "3"), ("a[b", "4"), ("naïve", "5"),
        ],
        body: []
    )

    @Test("ASCII letters match in any case; the first of repeated fields wins")
    func asciiCase() {
        #expect(Self.response.header("x-amz-crc32") == "1")
        #expect(Self.response.header("X-AMZN-REQUESTID") == "2")
        #expect(Self.response.header("x-amz-crc3") == nil)
        #expect(Self.response.header("x-amz-crc322") == nil)
    }

    @Test("other bytes only match exactly: [ is not {, ï is not Ï")
    func otherBytes() {
        #expect(Self.response.header("a[b") == "4")
        #expect(Self.response.header("a{b") == nil)
        #expect(Self.response.header("A[B") == "4")
        #expect(Self.response.header("NAÏVE") == nil)
        #expect(Self.response.header("NAïVE") == "5")
        #expect(!HTTPResponseData.sameFieldName("@", "`"))
        #expect(!HTTPResponseData.sameFieldName("", "a"))
        #expect(HTTPResponseData.sameFieldName("", ""))
    }
}
