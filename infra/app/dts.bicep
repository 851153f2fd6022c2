// The Durable Task Scheduler backend: a scheduler, the app's task hub, and the scheduler's autopurge retention.
// Resource shapes: Microsoft.DurableTask @ 2025-11-01
// (https://learn.microsoft.com/azure/templates/microsoft.durabletask/schedulers); retention policies:
// https://learn.microsoft.com/azure/azure-functions/durable/durable-task-scheduler/durable-task-scheduler-auto-purge
param name string
param location string = resourceGroup().location
param tags object = {}
param taskHubName string
@allowed(['Consumption', 'Dedicated'])
param skuName string = 'Consumption'
@description('Days the scheduler keeps Completed, Failed, Terminated and Canceled instances (counted from their end).')
@minValue(0)
param retentionDays int

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    ipAllowlist: ['0.0.0.0/0']
    sku: skuName == 'Dedicated' ? { name: skuName, capacity: 1 } : { name: skuName }
  }

  resource taskHub 'taskHubs' = {
    name: taskHubName
  }

  resource retention 'retentionPolicies' = {
    name: 'default'
    properties: {
      retentionPolicies: [
        { retentionPeriodInDays: retentionDays }
      ]
    }
  }
}

output name string = scheduler.name
output endpoint string = scheduler.properties.endpoint
output taskHubName string = scheduler::taskHub.name
output dashboardUrl string = scheduler::taskHub.properties.dashboardUrl
