// Role assignments for the app's user-assigned identity (and, optionally, the deploying user so that local runs
// and the Durable Task Scheduler dashboard work with their own identity). Modelled on infra/app/rbac.bicep of
// https://github.com/Azure-Samples/durable-functions-quickstart-python-azd
param storageAccountName string
param appInsightsName string
param managedIdentityPrincipalId string
param userIdentityPrincipalId string = ''
param allowUserIdentityPrincipal bool = true
param schedulerName string = ''

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
var durableTaskDataContributor = '0ad04412-c4d5-4796-b79c-f76d14c8d402'

var storageRoles = [storageBlobDataOwner, storageQueueDataContributor, storageTableDataContributor]
var withUser = allowUserIdentityPrincipal && !empty(userIdentityPrincipalId)

resource storageAccount 'Microsoft.Storage/storageAccounts@2022-09-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource scheduler 'Microsoft.DurableTask/schedulers@2025-11-01' existing = if (!empty(schedulerName)) {
  name: !empty(schedulerName) ? schedulerName : 'none'
}

resource storageRolesForApp 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in storageRoles: {
  name: guid(storageAccount.id, managedIdentityPrincipalId, role)
  scope: storageAccount
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}]

resource storageRolesForUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in storageRoles: if (withUser) {
  name: guid(storageAccount.id, userIdentityPrincipalId, role)
  scope: storageAccount
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', role)
    principalId: userIdentityPrincipalId
    principalType: 'User'
  }
}]

resource appInsightsRoleForApp 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, managedIdentityPrincipalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource appInsightsRoleForUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (withUser) {
  name: guid(applicationInsights.id, userIdentityPrincipalId, monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: userIdentityPrincipalId
    principalType: 'User'
  }
}

// Durable Task Scheduler: the app's identity and the deploying user (for the scheduler's dashboard).
resource schedulerRoleForApp 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(schedulerName)) {
  name: guid(scheduler.id, managedIdentityPrincipalId, durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: managedIdentityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource schedulerRoleForUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(schedulerName) && withUser) {
  name: guid(scheduler.id, userIdentityPrincipalId, durableTaskDataContributor)
  scope: scheduler
  properties: {
    roleDefinitionId: resourceId('Microsoft.Authorization/roleDefinitions', durableTaskDataContributor)
    principalId: userIdentityPrincipalId
    principalType: 'User'
  }
}
