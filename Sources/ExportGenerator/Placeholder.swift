@_exported import DynamoModel
