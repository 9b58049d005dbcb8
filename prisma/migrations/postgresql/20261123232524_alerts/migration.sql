-- CreateTable
CREATE TABLE "Event" (
    "id" TEXT NOT NULL,
    "timestamp" TIMESTAMP(3) NOT NULL,
    "severity" TEXT,
    "eventType" TEXT,
    "sourceIp" TEXT,
    "body" TEXT NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "source" TEXT,
    "assignedTo" TEXT,
    "tags" TEXT NOT NULL DEFAULT '[]',
    "dedupKey" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "matchedAt" TIMESTAMP(3),

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Trigger" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "workflowKey" TEXT NOT NULL,
    "condition" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "dedupWindowS" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Trigger_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertStart" (
    "id" TEXT NOT NULL,
    "alertId" TEXT NOT NULL,
    "triggerId" TEXT NOT NULL,
    "workflowKey" TEXT NOT NULL,
    "dedupKey" TEXT NOT NULL,
    "executionId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AlertStart_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "HookDelivery" (
    "id" TEXT NOT NULL,
    "hook" TEXT NOT NULL,
    "deliveryId" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "alertId" TEXT,
    "remoteIp" TEXT,
    "receivedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "HookDelivery_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Event_timestamp_idx" ON "Event"("timestamp");

-- CreateIndex
CREATE INDEX "Event_severity_timestamp_idx" ON "Event"("severity", "timestamp");

-- CreateIndex
CREATE INDEX "Event_sourceIp_idx" ON "Event"("sourceIp");

-- CreateIndex
CREATE INDEX "Event_eventType_idx" ON "Event"("eventType");

-- CreateIndex
CREATE INDEX "Alert_status_createdAt_idx" ON "Alert"("status", "createdAt");

-- CreateIndex
CREATE INDEX "Alert_severity_createdAt_idx" ON "Alert"("severity", "createdAt");

-- CreateIndex
CREATE INDEX "Alert_createdAt_idx" ON "Alert"("createdAt");

-- CreateIndex
CREATE INDEX "Alert_matchedAt_createdAt_idx" ON "Alert"("matchedAt", "createdAt");

-- CreateIndex
CREATE INDEX "Trigger_enabled_idx" ON "Trigger"("enabled");

-- CreateIndex
CREATE INDEX "AlertStart_alertId_idx" ON "AlertStart"("alertId");

-- CreateIndex
CREATE INDEX "AlertStart_executionId_createdAt_idx" ON "AlertStart"("executionId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "AlertStart_triggerId_dedupKey_key" ON "AlertStart"("triggerId", "dedupKey");

-- CreateIndex
CREATE INDEX "HookDelivery_hook_receivedAt_idx" ON "HookDelivery"("hook", "receivedAt");

-- CreateIndex
CREATE UNIQUE INDEX "HookDelivery_hook_deliveryId_key" ON "HookDelivery"("hook", "deliveryId");
